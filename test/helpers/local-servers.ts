/** Real servers on 127.0.0.1 for the network checks: TCP, HTTP, and a tiny DNS server over UDP. */
import { createSocket, type Socket } from 'node:dgram';
import { createServer as createHttp } from 'node:http';
import { createServer as createTcp, type AddressInfo, type Server } from 'node:net';

export interface Running {
  port: number;
  close(): Promise<void>;
}

const closer = (s: Server) => () => new Promise<void>((res) => s.close(() => res()));

export async function tcpServer(): Promise<Running> {
  const s = createTcp((c) => c.end());
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  return { port: (s.address() as AddressInfo).port, close: closer(s) };
}

export async function httpServer(): Promise<Running> {
  const s = createHttp((_, res) => res.writeHead(204).end());
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  return { port: (s.address() as AddressInfo).port, close: closer(s) };
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = await tcpServer();
  await s.close();
  return s.port;
}

/**
 * A DNS server answering A queries for the given names (RFC 1035 wire format), NXDOMAIN for
 * others. Counts the queries it got.
 */
export async function dnsServer(records: Record<string, string>): Promise<Running & { queries: string[] }> {
  const sock: Socket = createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    const labels: string[] = [];
    let i = 12;
    while (msg[i]! > 0) {
      labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString('ascii'));
      i += msg[i]! + 1;
    }
    const question = msg.subarray(12, i + 5);
    const name = labels.join('.').toLowerCase();
    const qtype = msg.readUInt16BE(i + 1);
    queries.push(name);
    const address = qtype === 1 ? records[name] : undefined;
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180 | (records[name] === undefined ? 3 : 0), 2); // response, RD+RA, rcode
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(address ? 1 : 0, 6);
    const parts = [header, question];
    if (address) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6); // TTL
      rr.writeUInt16BE(4, 10);
      address.split('.').forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
      parts.push(rr);
    }
    sock.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
  return { port: sock.address().port, queries, close: () => new Promise<void>((res) => sock.close(() => res())) };
}
