import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFuzzStack, type FuzzStack } from '../support/api-fuzz-stack';
import { toolPaths } from '../support/tools';

/**
 * A schema-driven fuzz of the whole api, as a new user would try it with a tool nobody here
 * wrote: schemathesis reads /openapi.json and runs every check it has (`--checks all`: no 5xx,
 * only declared statuses, media types, headers and shapes; schema-valid bodies accepted and
 * schema-invalid ones refused; a missing required header refused; an undeclared method answered
 * 405 with Allow; auth not ignored; a created resource retrievable, a deleted one gone) on every
 * operation, with data that fits the schemas and data that does not (`--mode all`), in all its
 * phases: the document's examples, coverage of each schema's edges, random fuzzing, and the
 * stateful phase, which chains operations along the document's OpenAPI links (and the ones
 * schemathesis infers). It must report no failure of any kind; the api's own count of its
 * answers confirms no 5xx, and the counts (cases by phase and mode, links followed) are printed
 * for README.
 */
let stack: FuzzStack;

const selector = 'app="{{app}}",version="{{version}}"';
/** A template of each kind the guard accepts, as in its examples (domain/promql-templates.ts). */
const promqlTemplates = {
  rate: `sum(rate(http_requests_total{${selector}}[1m]))`,
  errors: `sum(rate(http_requests_total{${selector},status=~"5.."}[1m]))`,
  duration: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{${selector}}[1m])))`,
  error_ratio: `sum(rate(http_requests_total{${selector},status=~"5.."}[1m])) / sum(rate(http_requests_total{${selector}}[1m]))`,
};

/** schemathesis' settings for this stack; each exception says why it is right. */
function schemathesisConfig(): string {
  const { ids, signedPackage } = stack;
  return [
    `hooks = ${JSON.stringify(path.join(stack.scratch, 'hooks.py'))}`,
    '',
    // Cases per operation in the examples, coverage and fuzzing phases; scenarios (chains of
    // up to 6 calls along the links) in the stateful phase, where a chain costs about one
    // case and each covers more links.
    'generation.max-examples = 15',
    '',
    '[phases.stateful]',
    'generation.max-examples = 120',
    '',
    // Real data, besides what schemathesis makes up and what it learns from the responses:
    // half of the ids it sends exist (so the routes answer from a real application, release
    // and report, not only 404), and a package download now and then has every part of a real
    // signed URL.
    '[dictionaries]',
    `ids = { values = ${JSON.stringify([ids.app, ids.deployment])} }`,
    `app_ids = { values = ${JSON.stringify([ids.app])} }`,
    `package_keys = { values = ${JSON.stringify([signedPackage.key])} }`,
    `expiries = { values = ${JSON.stringify([signedPackage.expires])} }`,
    `signatures = { values = ${JSON.stringify([signedPackage.signature])} }`,
    '',
    '[parameters]',
    '"path.id" = { dictionary = "ids", probability = 0.5 }',
    '"body.app_id" = { dictionary = "app_ids", probability = 0.5 }',
    '"path.key" = { dictionary = "package_keys", probability = 0.5 }',
    '"query.expires" = { dictionary = "expiries", probability = 0.5 }',
    '"query.signature" = { dictionary = "signatures", probability = 0.5 }',
    '',
    // A signed GitHub delivery (see hooks.py) is read as the event its X-GitHub-Event header
    // names (ping, push, create), and a push or create payload without `ref` or `repository`
    // is refused with 422 naming the field. The description says so; JSON Schema cannot tie a
    // body's shape to a header, so the document's body is any object, and a schema-valid
    // payload may rightly be refused with 422. Otherwise schemathesis' defaults.
    '[[operations]]',
    'include-path = "/api/v1/webhooks/github"',
    'include-method = "POST"',
    'checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]',
    '',
  ].join('\n');
}

/** What schemathesis cannot be told in its config, in Python. */
const hooks = () => `import hashlib
import hmac
import json
import re
from collections.abc import MutableMapping
from urllib.parse import quote

import requests
import schemathesis
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import ParameterLocation
from schemathesis.transport.serialization import serialize_binary

# schemathesis has no serializer for application/gzip (the package upload's body) and reports
# the route as an error; the body is bytes, which its octet-stream serializer sends as they are.
schemathesis.serializer.alias("application/gzip", "application/octet-stream")

UPLOAD = ("PUT", "/api/v1/applications/{id}/packages/{version}")
DIGESTS = {"md5": re.compile(r"[0-9a-fA-F]{32}"), "sha256": re.compile(r"[0-9a-fA-F]{64}")}
GITHUB = ("POST", "/api/v1/webhooks/github")
APPLICATIONS = {("POST", "/api/v1/applications"), ("PUT", "/api/v1/applications/{id}")}
MAX_INTEGER = 2**53 - 1
PROMQL = json.loads(${JSON.stringify(JSON.stringify(promqlTemplates))})
GITHUB_SECRET = ${JSON.stringify(stack.githubWebhookSecret)}.encode()
API_URL = ${JSON.stringify(stack.apiUrl)}
ADMIN = {"Authorization": ${JSON.stringify(`Bearer ${stack.adminToken}`)}}
TOKENS = ("DELETE", "/api/v1/tokens/{id}")
NEW_TOKEN = ("POST", "/api/v1/tokens")
NEW_RELEASE = ("POST", "/api/v1/deployments")
SHOP_ID = ${JSON.stringify(stack.ids.app)}
MASK = "***"
ADMIN_TOKEN_ID = ${JSON.stringify(stack.adminTokenId)}
REVOCABLE_TOKEN_ID = ${JSON.stringify(stack.revocableTokenId)}
CHANNEL = "oncall"


def upload_digests(case):
    """The upload's md5 and sha256, when well-formed, are the digests of the body it sends.

    The document says a package whose digest differs from the one given is refused (422): a
    relation between the query and the body that no schema can state. A client computes them
    from the bytes it sends; so does this. A malformed one (negative data) is left as it is.
    """
    if not isinstance(case.query, MutableMapping) or case.body is NOT_SET:
        return
    body = serialize_binary(case.body)
    for name, pattern in DIGESTS.items():
        given = case.query.get(name)
        if isinstance(given, str) and pattern.fullmatch(given):
            case.query[name] = hashlib.new(name, body).hexdigest()


def github_signature(case):
    """A GitHub delivery that carries a signature carries the right one, as GitHub's do.

    The signature is an HMAC of the raw body with the secret, which no schema can state:
    without this every delivery is refused (401) before its payload is read. The bytes are the
    ones requests sends for a JSON body (json.dumps, allow_nan=False, UTF-8). A delivery
    without the header is still refused with 401 (and a wrong signature is tested in
    api-github-webhook.test.ts).
    """
    if not isinstance(case.headers, MutableMapping) or case.body is NOT_SET:
        return
    for name in list(case.headers):
        if name.lower() == "x-hub-signature-256":
            if isinstance(case.body, bytes):
                body = case.body
            else:
                try:
                    body = json.dumps(case.body, allow_nan=False).encode("utf-8")
                except (TypeError, ValueError):
                    return
            digest = hmac.new(GITHUB_SECRET, body, hashlib.sha256).hexdigest()
            case.headers[name] = f"sha256={digest}"


def positive_body(case):
    """Whether the case's body is an object that schemathesis means to fit the schema."""
    meta = case.meta
    return (
        meta is not None
        and not meta.is_negative_at(ParameterLocation.BODY)
        and isinstance(case.body, dict)
    )


def utf16_fit(case, limits):
    """Text the server measures in UTF-16 code units, as JavaScript does, fits its maximum.

    JSON Schema counts a character beyond U+FFFF (an emoji) as one, the server as two: a
    name of 60 such characters fits maxLength 100 and is refused (422, as the descriptions
    say). In a positive body each such character of a field over its limit becomes an x.
    """
    if not positive_body(case):
        return
    for field, limit in limits.items():
        text = case.body.get(field)
        if isinstance(text, str) and len(text.encode("utf-16-le")) // 2 > limit:
            case.body[field] = "".join(c if ord(c) < 0x10000 else "x" for c in text)


def releasable(app_id):
    """The application's machines when it can be released (it has machines and a repo), or None."""
    if not isinstance(app_id, str):
        return None
    response = requests.get(
        f"{API_URL}/api/v1/applications/{quote(app_id, safe='')}", headers=ADMIN, timeout=10
    )
    if response.status_code != 200:
        return None
    app = response.json()
    machines = [machine.get("id") for machine in app.get("machines") or []]
    return machines if machines and app.get("repo") else None


def valid_release(case):
    """A release the schema allows names an application that can be released, and its machine.

    What the application is decides the rest (422 otherwise, as the description says): it
    must have machines, and a repo or a package of the version; the gray machine must be one of
    its machines. Data, not schema: a positive body whose application exists but cannot be
    released releases shop instead, and its gray machine is one of the application's. An id
    that names nothing is left alone (404).
    """
    if not positive_body(case):
        return
    app_id = case.body.get("app_id")
    machines = releasable(app_id)
    if machines is None and app_id != SHOP_ID:
        found = requests.get(
            f"{API_URL}/api/v1/applications/{quote(str(app_id), safe='')}", headers=ADMIN, timeout=10
        )
        if found.status_code == 200:
            case.body["app_id"] = SHOP_ID
            machines = releasable(SHOP_ID)
    if machines and isinstance(case.body.get("gray_machine_id"), str):
        if case.body["gray_machine_id"] not in machines:
            case.body["gray_machine_id"] = machines[0]


def valid_token(case):
    """A new token's expires_in, as a string, is within 1m..10y (the description says so)."""
    if positive_body(case) and isinstance(case.body.get("expires_in"), str):
        case.body["expires_in"] = "90d"


def is_number(value):
    """A JSON number (269 or 269.0: an integer may come as either), not a boolean."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def valid_application(case):
    """An application body that fits the schema also keeps the rules no JSON Schema can say.

    The descriptions state them and a breach is 422 naming the field; schemathesis cannot know
    them, so a body of the positive mode is made to keep them, as a user's would, in every
    phase; a body of the negative mode keeps schemathesis' own (the server's checks of each
    rule are in api-schema-rules, api-red-templates and api-applications tests):
    - PromQL templates and custom rules must parse, use {{version}}, be a rate where a rate is
      meant, keep le under histogram_quantile and fill only known placeholders: they get real
      templates;
    - pacer.batches must increase strictly: its values are sorted, without repeats, and end
      with 100;
    - with the guard enabled, rollback_policy.verify_seconds must be at least interval_seconds
      x consecutive_breaches, and min_judged_evaluations at least consecutive_breaches (a
      product and a comparison of fields): they are raised to that;
    - rollback_policy.notify must name configured channels: it names one;
    - machine ids, and machines' host:port, are unique in the body: a repeat is left out;
    - on PUT, the platform applies to the stored machines too: ssh without machines in the
      body (shop's have no ssh settings) is left out;
    - *** is the redaction mask GET gives for a secret, refused where none is stored: a command
      or key path that is just the mask, or a repo URL with it as credentials, gets a value.
    """
    if not positive_body(case):
        return
    body = case.body
    machines = body.get("machines")
    if isinstance(machines, list):
        ids, addresses, kept = set(), set(), []
        for machine in machines:
            if isinstance(machine, dict):
                address = (str(machine.get("host")), str(machine.get("port")))
                if machine.get("id") in ids or address in addresses:
                    continue
                ids.add(machine.get("id"))
                addresses.add(address)
            kept.append(machine)
        body["machines"] = kept
    if case.operation.method.upper() == "PUT" and body.get("deployment_platform") == "ssh":
        if "machines" not in body:
            del body["deployment_platform"]
    for field in ("start_cmd", "stop_cmd", "build_cmd"):
        if body.get(field) == MASK:
            body[field] = "true"
    if isinstance(body.get("repo"), str):
        body["repo"] = body["repo"].replace(f"://{MASK}@", "://user@")
    for machine in machines if isinstance(machines, list) else []:
        ssh = machine.get("ssh") if isinstance(machine, dict) else None
        if isinstance(ssh, dict) and ssh.get("key_path") == MASK:
            ssh["key_path"] = "/keys/id_ed25519"
    pacer = body.get("pacer")
    batches = pacer.get("batches") if isinstance(pacer, dict) else None
    if isinstance(batches, list) and all(is_number(b) for b in batches):
        pacer["batches"] = sorted({b for b in batches if b < 100}) + [100]
    policy = case.body.get("rollback_policy")
    if isinstance(policy, dict) and policy.get("enabled") is not False:
        interval = policy.get("interval_seconds", 15)
        breaches = policy.get("consecutive_breaches", 3)
        if is_number(interval) and is_number(breaches):
            if interval * breaches > MAX_INTEGER:
                breaches = policy["consecutive_breaches"] = 1
            if is_number(policy.get("verify_seconds")):
                policy["verify_seconds"] = max(policy["verify_seconds"], interval * breaches)
            if is_number(policy.get("min_judged_evaluations")):
                policy["min_judged_evaluations"] = max(policy["min_judged_evaluations"], breaches)
    notify = policy.get("notify") if isinstance(policy, dict) else None
    if isinstance(notify, list) and notify:
        # A channel named must be configured (PUT /channels/{name} or NOTIFY_CHANNELS): data,
        # not a schema rule. The body names one that is, configured again in case the fuzz
        # deleted it.
        requests.put(
            f"{API_URL}/api/v1/channels/{CHANNEL}",
            json={"type": "webhook", "url": "http://127.0.0.1:9/alerts"},
            headers=ADMIN,
            timeout=10,
        ).raise_for_status()
        policy["notify"] = [CHANNEL]
    red = case.body.get("red_metrics_config")
    if isinstance(red, dict):
        for kind in ("rate", "errors", "duration", "error_ratio"):
            if isinstance(red.get(kind), str):
                red[kind] = PROMQL[kind]
    policy = case.body.get("rollback_policy")
    rules = policy.get("rules") if isinstance(policy, dict) else None
    for rule in rules if isinstance(rules, list) else []:
        if isinstance(rule, dict) and isinstance(rule.get("promql"), str):
            rule["promql"] = PROMQL["errors"]


@schemathesis.hook
def before_call(context, case, **kwargs):
    operation = (case.operation.method.upper(), case.operation.path)
    utf16_fit(case, {"requested_by": 100, "reason": 2000})
    if operation == UPLOAD:
        upload_digests(case)
    elif operation == GITHUB:
        github_signature(case)
    elif operation in APPLICATIONS:
        valid_application(case)
    elif operation == NEW_RELEASE:
        valid_release(case)
    elif operation == NEW_TOKEN:
        valid_token(case)
        utf16_fit(case, {"name": 100})
    elif operation == TOKENS and isinstance(case.path_parameters, MutableMapping):
        # schemathesis learns token ids from GET /tokens, the fuzz's own among them: revoking
        # that one would leave nothing but 401 for the rest of the run, so another is revoked.
        if case.path_parameters.get("id") == ADMIN_TOKEN_ID:
            case.path_parameters["id"] = REVOCABLE_TOKEN_ID
`;

beforeAll(async () => {
  stack = await startFuzzStack();
  await writeFile(path.join(stack.scratch, 'hooks.py'), hooks());
  await writeFile(path.join(stack.scratch, 'schemathesis.toml'), schemathesisConfig());
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** schemathesis' exit code and everything it printed; killed after `timeoutMs`. */
function schemathesis(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // The scratch folder as its working directory: it reads the config written there, and its
    // .hypothesis and .schemathesis folders land there, not in the checkout.
    const child = spawn(toolPaths().schemathesis, args, {
      cwd: stack.scratch,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, output: signal === null ? output : `${output}\n(killed by ${signal})` });
    });
  });
}

/** What the run's JSON report says (the parts this test reads). */
interface RunReport {
  complete: boolean;
  operations: { total: number; selected: number; tested: number; errored: number };
  phases: Record<'examples' | 'coverage' | 'fuzzing' | 'stateful', { status: string }>;
  test_cases: { generated: number; with_failures: number; errored: number };
  failures: unknown[];
  errors: unknown[];
}

/** A case of a scenario in the NDJSON event stream: its mode, and the link that made it. */
interface ReportedCase {
  value?: { meta?: { generation?: { mode?: string } } };
  transition?: { id: string; is_inferred: boolean } | null;
}

/** Cases by phase and mode, and the links the stateful phase followed, from the events. */
async function casesOf(ndjsonPath: string) {
  const byPhaseAndMode = new Map<string, number>();
  const links = new Map<string, { inferred: boolean; followed: number }>();
  for (const line of (await readFile(ndjsonPath, 'utf8')).split('\n')) {
    if (!line.startsWith('{"ScenarioFinished"')) continue;
    const finished = (
      JSON.parse(line) as {
        ScenarioFinished: { phase: string; recorder: { cases?: Record<string, ReportedCase> } };
      }
    ).ScenarioFinished;
    for (const reported of Object.values(finished.recorder.cases ?? {})) {
      const key = `${finished.phase} ${reported.value?.meta?.generation?.mode ?? 'unknown'}`;
      byPhaseAndMode.set(key, (byPhaseAndMode.get(key) ?? 0) + 1);
      const transition = reported.transition;
      if (transition) {
        const link = links.get(transition.id) ?? { inferred: transition.is_inferred, followed: 0 };
        link.followed += 1;
        links.set(transition.id, link);
      }
    }
  }
  return { byPhaseAndMode, links };
}

describe('the api against its own /openapi.json', () => {
  it('passes every schemathesis check, positive and negative, in every phase, stateful links included', async () => {
    const reportJson = path.join(stack.scratch, 'report.json');
    const reportNdjson = path.join(stack.scratch, 'report.ndjson');
    const { code, output } = await schemathesis(
      [
        '--config-file',
        path.join(stack.scratch, 'schemathesis.toml'),
        'run',
        `${stack.apiUrl}/openapi.json`,
        '--header',
        `Authorization: Bearer ${stack.adminToken}`,
        // Every check. object_level_authorization compares what one identity reads of what
        // another created; it needs peers configured, and relguard has none to compare: a
        // token's role decides what it may do, and every token may read every object by design.
        '--checks',
        'all',
        '--mode',
        'all',
        '--phases',
        'examples,coverage,fuzzing,stateful',
        '--seed',
        '1',
        // One worker: the run is then the same for a seed (and with two, schemathesis once
        // stopped here on an internal error of its own).
        '--workers',
        '1',
        '--generation-database',
        'none',
        // Every failure of a case, not only its first: the output then lists them all.
        '--continue-on-failure',
        '--report',
        'json,ndjson',
        '--report-json-path',
        reportJson,
        '--report-ndjson-path',
        reportNdjson,
        '--no-color',
      ],
      // Generous: on a busy 2-core CI host one run took about 3 minutes.
      480_000,
    );
    // The output lists each failure with a curl line to reproduce it.
    expect(code, output).toBe(0);
    const report = JSON.parse(await readFile(reportJson, 'utf8')) as RunReport;
    expect(report.failures, output).toEqual([]);
    expect(report.errors, output).toEqual([]);
    expect(report.complete).toBe(true);
    expect(report.test_cases.with_failures).toBe(0);
    expect(report.test_cases.errored).toBe(0);
    for (const phase of ['examples', 'coverage', 'fuzzing', 'stateful'] as const) {
      expect(report.phases[phase].status, phase).toBe('success');
    }

    // Every operation of the document was run, the webhooks, the upload and the package
    // downloads among them.
    const document = (await (await fetch(`${stack.apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
    const operations = Object.values(document.paths).flatMap((item) =>
      Object.keys(item).filter((key) => methods.has(key)),
    );
    for (const route of [
      '/api/v1/webhooks/github',
      '/api/v1/webhooks/alertmanager',
      '/api/v1/applications/{id}/packages/{version}',
      '/packages/{key}',
    ]) {
      expect(Object.keys(document.paths)).toContain(route);
    }
    expect(report.operations.total).toBe(operations.length);
    expect(report.operations.tested).toBe(operations.length);
    expect(report.operations.errored).toBe(0);

    // Both modes ran (data the schemas allow and data they refuse), and the stateful phase
    // followed links from one operation's answer to the next.
    const { byPhaseAndMode, links } = await casesOf(reportNdjson);
    for (const key of ['coverage positive', 'coverage negative', 'fuzzing positive']) {
      expect(byPhaseAndMode.get(key) ?? 0, key).toBeGreaterThan(0);
    }
    expect(byPhaseAndMode.get('fuzzing negative') ?? 0).toBeGreaterThan(0);
    expect(byPhaseAndMode.get('stateful positive') ?? 0).toBeGreaterThan(0);
    const linked = [...links.values()].reduce((sum, link) => sum + link.followed, 0);
    const declared = [...links.values()].filter((link) => !link.inferred).length;
    // The document's own links among them, not only those schemathesis infers.
    expect(declared).toBeGreaterThan(0);

    // The api itself answered no 5xx to any request it was sent.
    const serverErrors = [...stack.statuses].filter(([status]) => status >= 500);
    expect(serverErrors).toEqual([]);
    // The package downloads were refused unsigned (401) and tampered (403), and served (200)
    // when every part of the signed URL was the real one.
    expect([...stack.packageStatuses.keys()].sort()).toEqual(
      expect.arrayContaining([200, 401, 403]),
    );

    const requests = [...stack.statuses.values()].reduce((sum, count) => sum + count, 0);
    const modes = Object.fromEntries([...byPhaseAndMode].sort(([a], [b]) => a.localeCompare(b)));
    // Its phases, links and warnings, for the CI log.
    console.log(output);
    console.log(
      `schemathesis (all checks, positive and negative): ${report.test_cases.generated} cases over ${operations.length} operations, 0 failures (by phase and mode: ${JSON.stringify(modes)}); stateful: ${linked} cases along ${links.size} links (${declared} declared in the document, ${links.size - declared} inferred); the api answered ${requests} requests, 0 with a 5xx (by status: ${JSON.stringify(Object.fromEntries([...stack.statuses].sort(([a], [b]) => a - b)))})`,
    );
  }, 540_000);
});
