/**
 * An instance hosted in the server's own thread (`InlineHost`): for embedding
 * the REST server in a process that already holds the `Instance`, such as the
 * HTTP interface's tests. Kept apart from `instance-host.ts` so that the
 * server's main thread never loads the simulator core.
 */
import type { Instance } from '../instance.ts';
import type { WireRequest, WireResponse } from './http.ts';
import { InstanceEndpoint, type BlobEntry, type Surface } from './instance-endpoint.ts';
import { InstanceHost } from './instance-host.ts';

/**
 * An instance in the server's own thread, for embedding the REST server in a
 * process that already holds the `Instance` (tests): requests run at once,
 * so it is never busy.
 */
export class InlineHost extends InstanceHost {
  readonly #endpoint: InstanceEndpoint;

  constructor(instance: Instance) {
    super();
    this.#endpoint = new InstanceEndpoint(instance);
  }

  protected async run(surface: Surface, request: WireRequest, blobs: BlobEntry[]): Promise<WireResponse> {
    return this.#endpoint.handle(surface, request, blobs);
  }

  protected async dispose(): Promise<void> {
    this.#endpoint.delete();
  }
}
