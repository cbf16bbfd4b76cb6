export { marketWorkflow } from './market.js';
export { batchPreparationWorkflow, batchSubmissionWorkflow } from './epoch.js';
