/**
 * The `IC-CertificateExpression` header of response verification v2: the
 * default certification CEL expressions (dfinity/portal
 * `http-gateway-protocol-spec.md`, "The Certificate Expression Header";
 * dfinity/response-verification `ic-response-verification/src/cel/`):
 *
 *   default_certification(ValidationArgs{no_certification: Empty{}})
 *   default_certification(ValidationArgs{certification: Certification{
 *     no_request_certification: Empty{} | request_certification: RequestCertification{
 *       certified_request_headers: [..], certified_query_parameters: [..]},
 *     response_certification: ResponseCertification{
 *       certified_response_headers | response_header_exclusions: ResponseHeaderList{headers: [..]}}}})
 *
 * Any other expression is "Cel parser error", as the crate answers.
 */
/** A response that fails verification; the message is the text the gateway answers (error.rs). */
export class ResponseVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResponseVerificationError';
  }
}

export type Certification =
  | { kind: 'skip' }
  | {
      kind: 'certified';
      request?: { headers: string[]; queryParameters: string[] };
      response: { kind: 'certified_response_headers' | 'response_header_exclusions'; headers: string[] };
    };

type Node = { kind: 'object'; name: string; fields: Map<string, Node> } | { kind: 'list'; items: string[] };

const celError = (): ResponseVerificationError => new ResponseVerificationError('Cel parser error');

/** Tokens: identifiers, string literals and punctuation; whitespace ignored. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|("(?:[^"\\]|\\.)*")|([(){}[\]:,]))/y;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw celError();
    tokens.push(m[1] ?? m[2] ?? m[3]!);
    pos = re.lastIndex;
  }
  return tokens;
}

function parse(text: string): Node {
  const tokens = tokenize(text);
  let i = 0;
  const expect = (t: string): void => {
    if (tokens[i++] !== t) throw celError();
  };
  const ident = (): string => {
    const t = tokens[i++];
    if (t === undefined || !/^[A-Za-z_]/.test(t)) throw celError();
    return t;
  };
  const value = (): Node => {
    if (tokens[i] === '[') {
      i++;
      const items: string[] = [];
      while (tokens[i] !== ']') {
        const t = tokens[i++];
        if (t === undefined || !t.startsWith('"')) throw celError();
        items.push(JSON.parse(t) as string);
        if (tokens[i] === ',') i++;
        else if (tokens[i] !== ']') throw celError();
      }
      i++;
      return { kind: 'list', items };
    }
    const name = ident();
    expect('{');
    const fields = new Map<string, Node>();
    while (tokens[i] !== '}') {
      const key = ident();
      expect(':');
      fields.set(key, value());
      if (tokens[i] === ',') i++;
      else if (tokens[i] !== '}') throw celError();
    }
    i++;
    return { kind: 'object', name, fields };
  };
  if (ident() !== 'default_certification') throw celError();
  expect('(');
  const args = value();
  expect(')');
  if (i !== tokens.length) throw celError();
  return args;
}

function object(node: Node | undefined, name: string): Map<string, Node> {
  if (node?.kind !== 'object' || node.name !== name) throw celError();
  return node.fields;
}

function list(node: Node | undefined): string[] {
  if (node?.kind !== 'list') throw celError();
  return node.items;
}

/** The certification an `IC-CertificateExpression` value asks for. */
export function parseCertificationExpression(text: string): Certification {
  const args = object(parse(text), 'ValidationArgs');
  if (args.has('no_certification')) {
    object(args.get('no_certification'), 'Empty');
    return { kind: 'skip' };
  }
  const cert = object(args.get('certification'), 'Certification');
  let request: { headers: string[]; queryParameters: string[] } | undefined;
  if (cert.has('request_certification')) {
    const r = object(cert.get('request_certification'), 'RequestCertification');
    request = {
      headers: list(r.get('certified_request_headers')),
      queryParameters: list(r.get('certified_query_parameters')),
    };
  } else object(cert.get('no_request_certification'), 'Empty');
  const resp = object(cert.get('response_certification'), 'ResponseCertification');
  const kind = resp.has('certified_response_headers')
    ? 'certified_response_headers'
    : 'response_header_exclusions';
  const headers = list(object(resp.get(kind), 'ResponseHeaderList').get('headers'));
  return { kind: 'certified', request, response: { kind, headers } };
}
