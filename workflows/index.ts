/** The worker's workflow bundle entry: every workflow type the pipeline registers. */
export { runPhase } from './phase';
export { runAllPhases } from './all-phases';
