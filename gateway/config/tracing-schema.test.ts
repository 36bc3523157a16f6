import { parseConfig } from './load';
import { FleetError } from '../protocol/errors';

const servers = { a: { command: 'x' } };

function problemsOf(doc: Record<string, unknown>): string[] {
  try {
    parseConfig({ ...doc, servers }, 't');
  } catch (err) {
    expect(err).toBeInstanceOf(FleetError);
    return (err as FleetError).data!.problems as string[];
  }
  throw new Error('expected the config to be refused');
}

describe('the tracing config', () => {
  it('is off by default, with bounded batching defaults, and one switch turns it on', () => {
    const off = parseConfig({ servers }, 't').tracing;
    expect(off).toEqual({
      enabled: false,
      endpoint: 'http://127.0.0.1:4318/v1/traces',
      headers: {},
      serviceName: 'mcp-gateway',
      samplingRatio: 1,
      batch: { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMs: 1000, exportTimeoutMs: 10_000 },
    });
    expect(parseConfig({ tracing: { enabled: true }, servers }, 't').tracing).toEqual({ ...off, enabled: true });
  });

  it('takes an endpoint, headers, a sampling ratio, a service name and batch bounds', () => {
    const tracing = parseConfig(
      {
        tracing: {
          enabled: true,
          endpoint: 'https://otel.example.com/v1/traces',
          headers: { 'x-api-key': 'k' },
          samplingRatio: 0.25,
          serviceName: 'edge-gateway',
          batch: { maxQueueSize: 100, maxExportBatchSize: 10 },
        },
        servers,
      },
      't',
    ).tracing;
    expect(tracing).toMatchObject({
      endpoint: 'https://otel.example.com/v1/traces',
      headers: { 'x-api-key': 'k' },
      samplingRatio: 0.25,
      serviceName: 'edge-gateway',
    });
    expect(tracing.batch).toEqual({ maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMs: 1000, exportTimeoutMs: 10_000 });
  });

  it('names each bad field', () => {
    expect(
      problemsOf({
        tracing: {
          enabled: 'yes',
          endpoint: 'grpc://127.0.0.1:4317',
          headers: { 'bad name': 'v', ok: 'two\nlines' },
          samplingRatio: 1.5,
          serviceName: '',
          batch: { maxQueueSize: 0 },
          sampler: 'always',
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tracing\.enabled: /),
        expect.stringMatching(/^tracing\.endpoint: expected an http:\/\/ or https:\/\/ URL/),
        expect.stringMatching(/^tracing\.headers\.bad name: "bad name" is not an HTTP header name/),
        expect.stringMatching(/^tracing\.headers\.ok: must be one line/),
        expect.stringMatching(/^tracing\.samplingRatio: /),
        expect.stringMatching(/^tracing\.serviceName: /),
        expect.stringMatching(/^tracing\.batch\.maxQueueSize: /),
        expect.stringMatching(/^tracing: .*sampler/),
      ]),
    );
    expect(problemsOf({ tracing: { batch: { maxQueueSize: 10, maxExportBatchSize: 20 } } })).toEqual([
      expect.stringMatching(/^tracing\.batch\.maxExportBatchSize: must not exceed maxQueueSize/),
    ]);
  });
});
