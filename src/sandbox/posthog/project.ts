/**
 * What the project keeps beside its records (`state.records.posthog`): the event sequence and the group types. It is
 * the sandbox state's `posthogProject` slot, made anew with the records on `POST /_reset`.
 */

/** PostHog allows 5 group types. */
const MAX_GROUP_TYPES = 5;

export interface ProjectState {
  /** Events captured without a uuid get one derived from this sequence. */
  eventSequence: number;
  /** Group types in the order first seen; the position is the group type index. */
  groupTypes: string[];
}

export function groupTypeIndex(project: ProjectState, groupType: string): number | undefined {
  const { groupTypes } = project;
  const index = groupTypes.indexOf(groupType);
  if (index >= 0) return index;
  if (groupTypes.length >= MAX_GROUP_TYPES) return undefined;
  groupTypes.push(groupType);
  return groupTypes.length - 1;
}

export function createPosthogProject(): ProjectState {
  return { eventSequence: 0, groupTypes: [] };
}
