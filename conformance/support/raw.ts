/**
 * Raw HTTP access to the server under test, for the cases PicJS cannot
 * express (malformed bodies, unknown routes, exact integer text).
 */
export interface RawResponse {
  status: number;
  text: string;
  /** The parsed body, when it is JSON. */
  json: unknown;
  /** The error text: `{"message"}`, `{"Error":{"message"}}`, or a plain-text body. */
  message: string | undefined;
}

export async function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  body?: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' },
): Promise<RawResponse> {
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  let message: string | undefined;
  if (json && typeof json === 'object') {
    const o = json as { message?: unknown; Error?: { message?: unknown } };
    if (typeof o.message === 'string') message = o.message;
    else if (o.Error && typeof o.Error.message === 'string') message = o.Error.message;
  } else if (json === undefined && text !== '') {
    message = text;
  }
  return { status: res.status, text, json, message };
}

/** The create-instance body PicJS 0.23.0 sends for `PocketIc.create(url)` (protocol §4.1). */
export const DEFAULT_INSTANCE_CONFIG = JSON.stringify({
  subnet_config_set: {
    system: [],
    application: [
      { dts_flag: 'Enabled', instruction_config: 'Production', cost_schedule: 'Normal', state_config: 'New' },
    ],
    cloud_engine: [],
    verified_application: [],
  },
});

/** Creates an instance over raw HTTP and returns its id. */
export async function rawCreateInstance(baseUrl: string): Promise<number> {
  const res = await rawRequest(baseUrl, 'POST', '/instances', DEFAULT_INSTANCE_CONFIG);
  const created = (res.json as { Created?: { instance_id?: unknown } } | undefined)?.Created;
  if (res.status !== 201 || typeof created?.instance_id !== 'number') {
    throw new Error(`POST /instances answered ${res.status}: ${res.text}`);
  }
  return created.instance_id;
}
