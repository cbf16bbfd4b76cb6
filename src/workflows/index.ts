export { marketWorkflow } from './market.js';
export { batchPreparationWorkflow, batchSubmissionWorkflow, epochWorkflow } from './epoch.js';
export { finalRewardsWorkflow, periodicRewardsWorkflow } from './rewards.js';
export { marketAlertsWorkflow } from './alerts.js';
