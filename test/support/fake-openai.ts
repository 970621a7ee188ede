import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the scripted model says on one turn: words, or calls of tools. */
export type ScriptedReply =
  { content: string } | { toolCalls: { name: string; arguments: Record<string, unknown> }[] };

export interface ChatRequest {
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: {
    model: string;
    messages: { role: string; content?: string | null; tool_call_id?: string }[];
    tools?: { type: string; function: { name: string } }[];
    max_tokens?: number;
  };
}

export interface FakeOpenAI {
  /** The base URL to give the `openai` client (ends with /v1). */
  baseUrl: string;
  requests: ChatRequest[];
  stop(): Promise<void>;
}

/**
 * An OpenAI-compatible chat completions endpoint on loopback whose model is a script: turn n
 * answers `script(request, n)`, as the real API shapes it (tool calls, usage), so the real
 * `openai` client and the real tool loop run against it.
 */
export async function startFakeOpenAI(
  script: (request: ChatRequest, turn: number) => ScriptedReply,
): Promise<FakeOpenAI> {
  const requests: ChatRequest[] = [];
  const server = http.createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: `no route ${request.url}` } }));
        return;
      }
      const chat: ChatRequest = {
        headers: request.headers,
        raw,
        body: JSON.parse(raw) as ChatRequest['body'],
      };
      requests.push(chat);
      const reply = script(chat, requests.length);
      const message =
        'content' in reply
          ? { role: 'assistant', content: reply.content }
          : {
              role: 'assistant',
              content: null,
              tool_calls: reply.toolCalls.map((call, index) => ({
                id: `call_${requests.length}_${index}`,
                type: 'function',
                function: { name: call.name, arguments: JSON.stringify(call.arguments) },
              })),
            };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: chat.body.model,
          choices: [
            {
              index: 0,
              message,
              finish_reason: 'content' in reply ? 'stop' : 'tool_calls',
            },
          ],
          usage: { prompt_tokens: 500, completion_tokens: 100, total_tokens: 600 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
