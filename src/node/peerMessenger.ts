import { describeError } from '../logging/describeError.js';
import type { Logger } from '../logging/logger.js';
import { parseProtocolMessage, type ProtocolMessage, type ProtocolMessageType } from '../protocol/index.js';
import { TransportError } from '../transport/errors.js';
import type { PeerTransport } from '../transport/peerTransport.js';

/** One HTTP route per protocol message type; the envelope signature binds the route. */
export const PROTOCOL_ROUTES: Readonly<Record<ProtocolMessageType, string>> = {
  deal: '/protocol/deal',
  ack: '/protocol/ack',
  complaint: '/protocol/complaint',
  complete: '/protocol/complete',
};

/**
 * Protocol messages over the peer transport: picks the route for a message type,
 * turns delivery failures into a logged `false` (a round survives an unreachable peer;
 * its timeouts decide), and parses what arrives into a typed ProtocolMessage.
 */
export class PeerMessenger {
  constructor(
    private readonly transport: PeerTransport,
    private readonly logger: Logger,
  ) {}

  async send(message: ProtocolMessage, signal?: AbortSignal): Promise<boolean> {
    try {
      // Within a round the signal ends the retries (the round's deadline): a peer that
      // restarts mid-round still gets its deals once it is back.
      await this.transport.send({ ...message }, PROTOCOL_ROUTES[message.type], signal === undefined ? {} : { signal, retryUntilAborted: true });
      return true;
    } catch (error) {
      this.logger.warn(
        { to: message.to, type: message.type, session: message.sessionTimestamp, err: describeError(error) },
        'protocol message not delivered',
      );
      return false;
    }
  }

  /** Authenticates, decrypts and parses an inbound body that arrived on `route`. */
  receive(route: string, body: unknown): ProtocolMessage {
    const { payload } = this.transport.receive(route, body);
    if (PROTOCOL_ROUTES[payload.type as ProtocolMessageType] !== route) {
      throw new TransportError('MALFORMED_ENVELOPE', `a '${payload.type}' message does not belong on ${route}`, {
        details: { route, type: payload.type },
      });
    }
    return parseProtocolMessage(payload);
  }
}

