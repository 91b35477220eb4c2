// The port callers dial for an instance: its sidecar's when it has one (traffic enters the
// service through its sidecar), else the app's own.
import type { Instance } from '../model/mesh.js';
import { decide } from './precedence.js';

export function dialPort(instance: Instance): number {
  return decide('dialPort', { meta: instance.sidecarPort, default: instance.port }).value;
}
