// A minimal keep-alive HTTP/1.1 client over one socket, for load generation. Node's `http`
// client costs more per request than the server it measures, and on a small machine the load
// generator would then be what is measured; this one writes prebuilt request text and reads
// answers by Content-Length, nothing more. One request in flight per connection.

import { type Socket, connect } from 'node:net';

export interface RawResponse {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

/** The text of a request with an optional bearer token and JSON body. */
export function requestText(method: string, path: string, token?: string, body?: string): string {
  const auth = token === undefined ? '' : `authorization: Bearer ${token}\r\n`;
  const content = body === undefined ? '' : `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${auth}${content}\r\n${body ?? ''}`;
}

export class RawConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (response: RawResponse) => void; reject: (error: Error) => void } | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
    const fail = (error: Error): void => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => {
      fail(new Error('the server closed the connection'));
    });
  }

  /**
   * Connects to 127.0.0.1:`port`, from `localAddress` if given and the system has it (Linux
   * routes all of 127.0.0.0/8 to loopback; macOS has only 127.0.0.1 unless aliased).
   */
  static async open(port: number, localAddress?: string): Promise<RawConnection> {
    try {
      return await RawConnection.connect(port, localAddress);
    } catch (error) {
      if (localAddress === undefined || (error as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw error;
      return RawConnection.connect(port, undefined);
    }
  }

  private static connect(port: number, localAddress: string | undefined): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', ...(localAddress !== undefined && { localAddress }) }, () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  request(text: string): Promise<RawResponse> {
    if (this.waiting) return Promise.reject(new Error('one request at a time per connection'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(text);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(): void {
    const headerEnd = this.buffered.indexOf(HEADER_END);
    if (headerEnd < 0 || !this.waiting) return;
    const head = this.buffered.toString('latin1', 0, headerEnd);
    const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? '0');
    const end = headerEnd + HEADER_END.length + length;
    if (this.buffered.length < end) return;
    const response: RawResponse = { status: Number(head.slice(9, 12)), body: this.buffered.toString('utf8', headerEnd + HEADER_END.length, end) };
    this.buffered = this.buffered.subarray(end);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve(response);
  }
}
