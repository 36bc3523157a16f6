/** The state of a backend as the admin API, the metrics and the health probes report it. */

export type BackendState = 'ready' | 'connecting' | 'down';

/** The state of a group (a server's backends, the sessions on one): ready if one is, connecting if one tries, else down. */
export function bestState(states: BackendState[]): BackendState {
  return states.includes('ready') ? 'ready' : states.includes('connecting') ? 'connecting' : 'down';
}
