/**
 * A workflow interceptor module for the replay tests (bundled into the sandbox): reports the
 * input of every activity a workflow schedules through the `activityInputs` sink, live and on
 * replay, so that a test can compare what a replay computes with what the history recorded
 * (replay itself compares only the commands' kinds and ids, not their inputs).
 */
import { proxySinks, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export interface ActivityInputSinks extends Sinks {
  activityInputs: { scheduled(activityType: string, args: unknown[]): void };
}

const { activityInputs } = proxySinks<ActivityInputSinks>();

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity(input, next) {
        activityInputs.scheduled(input.activityType, input.args);
        return next(input);
      },
    },
  ],
});
