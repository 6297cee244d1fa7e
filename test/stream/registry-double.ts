/**
 * A loopback stand-in for a Confluent schema registry (the two endpoints Spillway calls), over real HTTP:
 * no registry server can be installed from our package sources.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running registry double. */
export interface RegistryDouble {
  url: string;
  /** Registers a schema directly (as another producer would); returns its id. */
  add(schema: unknown): number;
  /** Requests served, by path. */
  requests: string[];
  close(): Promise<void>;
}

/** Starts the double on a free port of 127.0.0.1; with `auth`, every request needs that HTTP basic auth (401 otherwise), as a secured registry does. */
export async function startRegistryDouble(options: { auth?: { username: string; password: string } } = {}): Promise<RegistryDouble> {
  const expected = options.auth === undefined ? undefined : `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
  const schemas: string[] = [];
  const requests: string[] = [];
  const idOf = (schema: string): number => {
    const found = schemas.indexOf(schema);
    if (found >= 0) return found + 1;
    schemas.push(schema);
    return schemas.length;
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
      if (expected !== undefined && req.headers.authorization !== expected) {
        res.statusCode = 401;
        res.end(JSON.stringify({ error_code: 401, message: 'Unauthorized' }));
        return;
      }
      const byId = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
      if (req.method === 'POST' && /^\/subjects\/[^/]+\/versions$/.test(req.url ?? '')) {
        const { schema } = JSON.parse(body) as { schema: string };
        res.end(JSON.stringify({ id: idOf(JSON.stringify(JSON.parse(schema))) }));
      } else if (req.method === 'GET' && byId !== null && schemas[Number(byId[1]) - 1] !== undefined) {
        res.end(JSON.stringify({ schema: schemas[Number(byId[1]) - 1] }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    add: (schema) => idOf(JSON.stringify(schema)),
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
