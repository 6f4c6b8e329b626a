// The error object of an OpenSearch response, reduced to one line for messages.

export interface ServerError {
  type?: string;
  reason?: string;
  caused_by?: ServerError;
  root_cause?: ServerError[];
  failed_shards?: Array<{ reason?: ServerError }>;
}

/** Formats a server error as one line: its reason and the deepest cause, such as a failed date parse inside a search phase error. */
export function describeServerError(problem: ServerError): string {
  let deepest: ServerError = problem;
  const shardReason = problem.failed_shards?.[0]?.reason;
  if (shardReason !== undefined) deepest = shardReason;
  while (deepest.caused_by !== undefined) deepest = deepest.caused_by;
  const top = `${problem.type ?? "error"}: ${problem.reason ?? "no reason given"}`;
  if (deepest === problem || deepest.reason === undefined) return top;
  return `${top} (caused by ${deepest.type ?? "error"}: ${deepest.reason})`;
}
