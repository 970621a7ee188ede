import { APIConnectionError, APIConnectionTimeoutError, type OpenAI } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { AnalysisFindings, errorMessage, type ToolCall } from '../../domain';
import type { Logger } from '../logger';
import { contextPrompt, repairPrompt, systemPrompt } from './llm-prompt';
import type { AnalysisContext, Analyzer, AnalyzerResult } from './types';

/** The tools the model investigates with: an MCP session (see mcp/client.ts). */
export interface ToolSession {
  listTools(): Promise<{ name: string; description?: string; inputSchema: object }[]>;
  /** `ok` false with the reason in `text` for a tool error; rejects only when the session is gone. */
  callTool(name: string, args: Record<string, unknown>): Promise<{ ok: boolean; text: string }>;
  close(): Promise<void>;
}

/** Bounds of one investigation, each with its default. */
export interface LlmLimits {
  /** Tool calls in all. Default 12. */
  maxToolCalls?: number;
  /** Tokens over the whole conversation (prompt and completion, as the endpoint counts). Default 60,000. */
  maxTokens?: number;
  /** Tokens of one answer. Default 4,000. */
  maxAnswerTokens?: number;
  /** The whole investigation. Default 5 minutes. */
  timeoutMs?: number;
  /** One request to the model, its answer and the client's retries included. Default 2 minutes. */
  requestTimeoutMs?: number;
  /** Corrections asked of a malformed answer before it is rejected. Default 2. */
  maxRepairs?: number;
  /** Characters of one tool result given back to the model. Default 8,000. */
  maxToolResultChars?: number;
}

export interface LlmAnalyzerOptions {
  /** Any OpenAI-compatible endpoint. */
  client: OpenAI;
  model: string;
  /** Opens the tools for one investigation; closed when it ends. */
  connectTools: () => Promise<ToolSession>;
  limits?: LlmLimits;
  logger: Logger;
}

const defaults: Required<LlmLimits> = {
  maxToolCalls: 12,
  maxTokens: 60_000,
  maxAnswerTokens: 4_000,
  timeoutMs: 5 * 60_000,
  requestTimeoutMs: 2 * 60_000,
  maxRepairs: 2,
  maxToolResultChars: 8_000,
};

/** The answer's JSON, with or without the Markdown fence models like to wrap it in. */
export function extractJson(content: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(content);
  const text = (fenced?.[1] ?? content).trim();
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error('no JSON object in the answer');
  return JSON.parse(text.slice(start, end + 1)) as unknown;
}

/** Why an answer is not findings, in words the model can correct, or undefined when it is. */
function problemsOf(content: string): { findings?: AnalysisFindings; problems?: string } {
  let json: unknown;
  try {
    json = extractJson(content);
  } catch (error) {
    return { problems: errorMessage(error) };
  }
  const parsed = AnalysisFindings.safeParse(json);
  if (parsed.success) return { findings: parsed.data };
  return {
    problems: parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; '),
  };
}

/** Where the model is, for messages: the base URL without credentials or query. */
function endpointOf(client: OpenAI): string {
  try {
    const url = new URL(client.baseURL);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'the configured OPENAI_BASE_URL';
  }
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function parseArguments(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text || '{}') as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/**
 * An analyzer that lets an LLM investigate: the MCP tools are offered to it as functions, it
 * calls them in a bounded loop, and its final answer must be findings that fit the schema;
 * a malformed answer is sent back for correction a few times, then rejected, never stored.
 */
export class LlmAnalyzer implements Analyzer {
  readonly name = 'llm';
  private readonly limits: Required<LlmLimits>;

  constructor(private readonly options: LlmAnalyzerOptions) {
    this.limits = { ...defaults, ...options.limits };
  }

  async analyze(
    context: AnalysisContext,
    progress: (detail: string) => void,
  ): Promise<AnalyzerResult> {
    const { client, model, logger } = this.options;
    const limits = this.limits;
    const signal = AbortSignal.timeout(limits.timeoutMs);
    const session = await this.options.connectTools();
    const toolCalls: ToolCall[] = [];
    try {
      const tools: ChatCompletionTool[] = (await session.listTools()).map((tool) => ({
        type: 'function',
        function: {
          name: tool.name,
          ...(tool.description === undefined ? {} : { description: tool.description }),
          parameters: tool.inputSchema as Record<string, unknown>,
        },
      }));
      const messages: ChatCompletionMessageParam[] = [
        { role: 'system', content: systemPrompt },
        { role: 'user', content: contextPrompt(context) },
      ];
      let tokens = 0;
      let repairs = 0;
      const endpoint = endpointOf(client);
      const tookTooLong = (turn: number, waiting: boolean) =>
        new Error(
          `the LLM investigation took longer than ${seconds(limits.timeoutMs)} ` +
            `(ANALYSIS_TIMEOUT_SECONDS)` +
            (waiting
              ? `: the LLM at ${endpoint} (model ${model}) had not answered turn ${turn}`
              : ''),
        );
      for (let turn = 1; ; turn++) {
        if (signal.aborted) throw tookTooLong(turn, false);
        const toolsLeft = toolCalls.length < limits.maxToolCalls;
        // The client's own timeout ends only the wait for the answer's headers; this one ends
        // the whole request, body and retries included, so a server that hangs mid-answer
        // fails here rather than at the investigation's end.
        const requestTimeout = AbortSignal.timeout(limits.requestTimeoutMs);
        let completion: ChatCompletion;
        try {
          completion = await client.chat.completions.create(
            {
              model,
              messages,
              // max_tokens, not max_completion_tokens: most OpenAI-compatible servers know only it.
              max_tokens: limits.maxAnswerTokens,
              ...(toolsLeft ? { tools, tool_choice: 'auto' as const } : {}),
            },
            { signal: AbortSignal.any([signal, requestTimeout]), timeout: limits.requestTimeoutMs },
          );
        } catch (error) {
          if (signal.aborted) throw tookTooLong(turn, true);
          if (requestTimeout.aborted || error instanceof APIConnectionTimeoutError) {
            throw new Error(
              `no answer from the LLM at ${endpoint} (model ${model}) within ` +
                `${seconds(limits.requestTimeoutMs)} (ANALYSIS_REQUEST_TIMEOUT_SECONDS) on turn ${turn}`,
              { cause: error },
            );
          }
          if (error instanceof APIConnectionError) {
            const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
            throw new Error(`cannot reach the LLM at ${endpoint}${cause}`, { cause: error });
          }
          throw error;
        }
        tokens += completion.usage?.total_tokens ?? 0;
        if (tokens > limits.maxTokens) {
          throw new Error(
            `the LLM used ${tokens} tokens, more than the ${limits.maxTokens} allowed`,
          );
        }
        const message = completion.choices[0]?.message;
        if (message === undefined) throw new Error('the LLM answered with no message');
        const calls = (message.tool_calls ?? []).filter((call) => call.type === 'function');

        if (calls.length > 0) {
          messages.push({ role: 'assistant', content: message.content ?? null, tool_calls: calls });
          for (const call of calls) {
            const args = parseArguments(call.function.arguments);
            let answer: { ok: boolean; text: string };
            if (toolCalls.length >= limits.maxToolCalls) {
              answer = {
                ok: false,
                text: `tool budget of ${limits.maxToolCalls} calls spent: answer with what you have`,
              };
            } else {
              progress(`calling ${call.function.name}`);
              answer = await session.callTool(call.function.name, args);
              toolCalls.push({
                tool: call.function.name,
                arguments: args,
                ok: answer.ok,
                detail: answer.text.slice(0, 300),
              });
            }
            messages.push({
              role: 'tool',
              tool_call_id: call.id,
              content: answer.text.slice(0, limits.maxToolResultChars),
            });
          }
          continue;
        }

        const content = message.content ?? '';
        const { findings, problems } = problemsOf(content);
        if (findings !== undefined) {
          logger.info(
            { model, tool_calls: toolCalls.length, tokens, repairs },
            'llm analysis written',
          );
          return { findings, tool_calls: toolCalls, model: completion.model || model };
        }
        if (repairs >= limits.maxRepairs) {
          throw new Error(
            `the LLM's answer did not fit the report schema after ${repairs} correction(s): ${problems}`,
          );
        }
        repairs++;
        progress(`asking for a corrected answer (${repairs})`);
        messages.push({ role: 'assistant', content });
        messages.push({ role: 'user', content: repairPrompt(problems ?? 'unreadable') });
      }
    } finally {
      await session.close();
    }
  }
}
