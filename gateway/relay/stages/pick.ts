/** Balancing: the call goes to one ready backend of its server that offers what it names, by weight. */
import { required, type Stage } from '../context';

export const pickStage: Stage = (call, next) => {
  call.backend = required(call.group, 'the server').pick(required(call.want, 'what the call names'));
  return next(call);
};
