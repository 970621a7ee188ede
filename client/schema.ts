/**
 * Generated from client/openapi.json by openapi-typescript (npm run generate:client):
 * do not edit. Import what you need from client/index.ts.
 */
/* eslint-disable -- generated: the document's unions, not ours to tidy */

export interface paths {
  '/healthz': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Whether the api reaches Temporal and MongoDB, each reported on its own */
    get: operations['getHealth'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/applications': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List applications by name */
    get: operations['listApplications'];
    put?: never;
    /** Create an application */
    post: operations['createApplication'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/applications/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Get an application */
    get: operations['getApplication'];
    /**
     * Update an application
     * @description Sets the fields given; fields left out keep their value.
     */
    put: operations['updateApplication'];
    post?: never;
    /**
     * Delete an application
     * @description Refused with 409 while a release of the application runs, and while machines run a version relguard deployed unless `machines` says what to do with them (the 409 names them). Its health watcher ends; its deployments, reports and machine history stay readable.
     */
    delete: operations['deleteApplication'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/applications/{id}/metrics': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The application's RED metrics over the last minutes, from Prometheus, with its release events
     * @description Range queries of the application's `red_metrics_config` (rate, errors, latency), once per version that served in the window (what its machines run, its current version, and each deployment's version and the one it replaced, for the deployments whose life overlaps the window; the 8 newest), with `{{instances}}` its machines, or with `by=machine` once per version and machine with `{{instances}}` that one machine. Errors are 0 where a version had traffic and no 5xx; a version without traffic has no series. `events` are the window's release events (start, gray deployed, each batch, breach, rollback begun and done, the end) linking to the release. Prometheus down is 503.
     */
    get: operations['getApplicationMetrics'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/applications/{id}/machine-events': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The history of the application's machine statuses, newest first
     * @description Each change of a machine's status (healthy, error, alert, unknown) with why, the version it ran and when, as the health watcher and releases saw it. Readable after the application is deleted.
     */
    get: operations['listMachineEvents'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List deployments, newest first */
    get: operations['listDeployments'];
    put?: never;
    /**
     * Start a release of an application version
     * @description Creates the deployment and starts its release workflow. One release per application runs at a time (409).
     */
    post: operations['createDeployment'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** A deployment, with its live progress while it runs */
    get: operations['getDeployment'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/analysis': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The root-cause report of a deployment's rollback or alert
     * @description JSON by default; `?format=markdown` gives the report as Markdown for a person. 404 until an analysis has written it.
     */
    get: operations['getAnalysis'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/analysis/series': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The analysis report's anomalous metrics as series, for charts
     * @description Each anomalous metric of the report evaluated as a range query from the baseline window (before the release started) through the release window (until its rollback was done, plus a margin), with the release's markers. The report's queries pin their evaluation time (`@`) so that they reproduce its numbers; charted as written they would be one flat value, so each is charted without its `@` modifiers (`chart_promql`; `offset` stays) and `promql` is returned as written. A query that does not parse is charted as given, with `unpin_error`; a query Prometheus refuses has its `error`; Prometheus down is 503; 404 until the report exists.
     */
    get: operations['getAnalysisSeries'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/guard': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The metric guard's evaluations of a release over time
     * @description Each evaluation of the rollback policy: when, the worst verdict, and each rule's value, threshold and verdict. The newest `limit` (at most 2000, as many as are kept), oldest first; empty before the guard has run.
     */
    get: operations['getGuardEvaluations'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/pause': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Pause a running release
     * @description The release stops before its next step and waits until resumed. Refused with 409 when it is paused already, rolling back or ended.
     */
    post: operations['pauseDeployment'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/resume': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Resume a paused release
     * @description Refused with 409 when the release is not paused, is rolling back or ended.
     */
    post: operations['resumeDeployment'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/approve': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Approve the next batch of a release that waits for approval
     * @description Refused with 409 when the release is not waiting for approval, is rolling back or ended.
     */
    post: operations['approveDeployment'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/promote': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * End the wait a release is in
     * @description `promote` ends the wait the release is in (the gray bake, an interval, the wait for the metric guard's judgement, or the verification window after the last batch); it is refused with 409 when the release is not waiting, is rolling back or ended.
     */
    post: operations['promoteDeployment'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/rollback': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Roll a running release back to the version before it
     * @description Every machine the release changed goes back to the version it ran before, and (with the policy's `ai_analysis`) an analysis of the release starts. Refused with 409 when it is rolling back already or ended.
     */
    post: operations['rollbackDeployment'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/deployments/{id}/cancel': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Cancel a running release
     * @description The release stops rolling forward and ends `cancelled`; machines it updated keep the new version (roll back to undo them). Refused with 409 when it is rolling back or ended.
     */
    post: operations['cancelDeployment'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/packages': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Build and store the package of a version, unless it exists */
    post: operations['createPackage'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/applications/{id}/packages': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The packages of an application, newest first */
    get: operations['listPackages'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/applications/{id}/packages/{version}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * Upload a package built elsewhere (a CI job) into the configured store
     * @description The body is the .tar.gz itself. With `md5` or `sha256`, a package whose digest differs is refused (422) and nothing is stored. A version that has a package already is 409: packages are immutable. When a build or another upload records the version while this one is received, the same bytes answer 200 with that package and other bytes 409.
     */
    put: operations['uploadPackage'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/tokens': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List api tokens (names, roles, creation, last use to the minute, expiry; never secrets) */
    get: operations['listTokens'];
    put?: never;
    /** Create an api token (its secret is shown this once) */
    post: operations['createToken'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/tokens/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revoke an api token */
    delete: operations['revokeToken'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/audit': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Writes made through the api, newest first */
    get: operations['listAudit'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/whoami': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Who the bearer token is: its name and role (any role may ask) */
    get: operations['whoami'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/channels': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List the notification channels (name, type, host, whether a secret is set, where it comes from; never the URL path or the secret) */
    get: operations['listChannels'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/channels/{name}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /** Create or replace a notification channel; it works for the next alert, without a restart */
    put: operations['putChannel'];
    post?: never;
    /** Delete a notification channel no application names */
    delete: operations['deleteChannel'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/webhooks/alertmanager': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Alertmanager webhook: mark the alerting machines, analyse the recent release of the applications that alert
     * @description An alert whose `app` and `instance` labels (ALERT_APP_LABEL, ALERT_INSTANCE_LABEL) name an application and one of its machines (id, host:port or host) marks that machine `alert` while it fires and clears it when resolved, through the application's health watcher. For each firing alert with an `app` label naming an application whose last release started within the lookback, starts that deployment's analysis (one per deployment; a running one is joined, an alert already analysed is not analysed again). Resolved alerts start no analysis. Alertmanager sends a deployer token: `http_config: { authorization: { credentials: <token> } }` in its webhook receiver. Its deliveries are not counted by the write rate limit (a 429 would drop an alert).
     */
    post: operations['receiveAlertmanagerWebhook'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/v1/webhooks/github': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * GitHub webhook: a pushed tag builds its package and, with auto_release, releases it
     * @description Configure it on the repository with content type `application/json`, a secret equal to GITHUB_WEBHOOK_SECRET, and the `push` event (a `create` event names no commit, so the creation of a tag is acknowledged and ignored: its push builds it). Every request must carry `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body with that secret (401 otherwise; 503 while no secret is configured); no bearer token is asked for. A tag push starts the package build of every application whose `repo` is the repository, and the release of those with `auto_release`. A delivery id seen before starts nothing (200, `duplicate`). Other events and branches are acknowledged and ignored (202).
     */
    post: operations['receiveGithubWebhook'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    Error: {
      error: {
        /** @example validation_failed */
        code: string;
        message: string;
        /** @description More about the error, by code: for `validation_failed`, the failing fields as `[{ field, message }]` */
        details?: unknown;
      };
    };
    Health: {
      /** @enum {string} */
      status: 'ok' | 'error';
      /** @enum {string} */
      temporal: 'ok' | 'error';
      /** @enum {string} */
      mongo: 'ok' | 'error';
    };
    /** @description An application, redacted for the caller's role: secrets are never returned, `redacted` names what is masked. */
    Application: {
      id: string;
      /** @description The application's name: 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit. A name another application has is 409. */
      name: string;
      /**
       * @description Where packages are built from (any git URL, a local path or file://); empty for an application whose packages are only uploaded. Credentials in a URL are shown as `***` to every role; a repo sent back with `***` for the credentials keeps the stored ones when the rest is the stored URL, else it is 422 naming `repo`.
       * @default
       */
      repo: string;
      /**
       * @default local
       * @enum {string}
       */
      deployment_platform: 'local' | 'ssh';
      /** @description The absolute path on each machine the versions are unpacked under; it starts with `/` (else 422 naming `deploy_path`). */
      deploy_path: string;
      /** @default  */
      config_path: string;
      /** @description The shell command that starts a version on a machine. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field). */
      start_cmd: string;
      /**
       * @description The shell command that stops it; empty: relguard stops the process. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field).
       * @default
       */
      stop_cmd: string;
      /**
       * @description The machines, in deployment order. Ids are unique in the application, and so are addresses (host and port); with `deployment_platform: ssh` every machine has `ssh` settings. Each break of these is 422 naming the machine's field (`machines.N.id`, `machines.N.port`, `machines.N.ssh`).
       * @default []
       */
      machines: {
        /** @description The machine's id, unique in the application (a repeated id is 422 naming `machines.N.id`): 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit. */
        id: string;
        name?: string;
        host: string;
        /** @description The port the application listens on. No two machines of an application have the same host and port (the second is 422 naming `machines.N.port`): one would answer for the other. */
        port: number;
        /**
         * @default unknown
         * @enum {string}
         */
        status: 'healthy' | 'error' | 'alert' | 'unknown';
        status_reason?: string;
        status_since?: number;
        /** @default  */
        version: string;
        /**
         * @description Labels the machine's Prometheus target gets beside relguard's own. Each key is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`), not `app`, `version`, `instance` or `job` (relguard sets them) and not starting with `__` (Prometheus' own); a key that breaks this is 422 naming `machines.N.labels.<key>`.
         * @default {}
         */
        labels: {
          [key: string]: string;
        };
        /** @description How relguard reaches the machine over SSH. Required on every machine when the application's `deployment_platform` is `ssh` (a machine without it is 422 naming `machines.N.ssh`). */
        ssh?: {
          user: string;
          /** @default 22 */
          port: number;
          /** @description The private key relguard connects with, a path on the worker's host. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored key path of the machine with the same id; with no stored value it stands for, it is refused (422 naming the field). */
          key_path: string;
          known_hosts_path?: string;
          host_key_sha256?: string;
        };
      }[];
      /** @default [] */
      up_stream_ids: string[];
      /** @default [] */
      down_stream_ids: string[];
      /** @default {} */
      rollback_policy: {
        /** @default true */
        enabled: boolean;
        /** @default true */
        auto_rollback: boolean;
        /** @default 15 */
        interval_seconds: number;
        /** @default 3 */
        consecutive_breaches: number;
        /**
         * @default [
         *       {
         *         "name": "error rate above 5%",
         *         "metric": "error_rate",
         *         "operator": ">",
         *         "threshold": 0.05,
         *         "relative_to_baseline": false
         *       },
         *       {
         *         "name": "p99 latency above 1s",
         *         "metric": "latency_p99",
         *         "operator": ">",
         *         "threshold": 1,
         *         "relative_to_baseline": false
         *       }
         *     ]
         */
        rules: ({
          name: string;
          /** @enum {string} */
          metric: 'error_rate' | 'latency_p99' | 'cpu' | 'memory' | 'custom';
          /** @description The PromQL a `custom` rule measures (required for `custom`, ignored by the other metrics), with the placeholders `{{app}}`, `{{version}}` and `{{instances}}`. It must parse as PromQL, use `{{version}}` (else it cannot tell the new version from the old) and no other `{{...}}` placeholder; each problem is 422 naming `rollback_policy.rules.N.promql`. */
          promql?: string;
          /**
           * @default >
           * @enum {string}
           */
          operator: '>' | '>=' | '<' | '<=';
          threshold: number;
          /** @default false */
          relative_to_baseline: boolean;
          floor?: number;
          min_request_rate?: number;
        } & (
          | {
              /** @constant */
              metric: 'custom';
              promql: string;
            }
          | {
              /** @enum {unknown} */
              metric: 'error_rate' | 'latency_p99' | 'cpu' | 'memory';
            }
        ))[];
        /**
         * @default pause
         * @enum {string}
         */
        no_data: 'ignore' | 'pause' | 'rollback';
        /**
         * @description The notification channels alerts of this application go to, by name. Each must be a channel relguard has (GET /api/v1/channels: PUT /api/v1/channels/{name} or NOTIFY_CHANNELS), so its name has the channel name pattern; a name no channel has is 422 naming `rollback_policy.notify.N`.
         * @default []
         */
        notify: string[];
        /** @default true */
        ai_analysis: boolean;
        /** @description After the last batch, how long the guard keeps watching every machine before the release succeeds; a breach in this window rolls every machine back. Unset: max(2 x interval_seconds x consecutive_breaches, 60). With the guard enabled it must be at least interval_seconds x consecutive_breaches, the time a rollback takes to decide (else 422 naming `rollback_policy.verify_seconds`). */
        verify_seconds?: number;
        /** @description Conclusive evaluations the guard must have made of the machines deployed so far before the release moves past the gray machine, past each batch, and out of the verification window. Unset: consecutive_breaches. With the guard enabled it must be at least consecutive_breaches (else 422 naming `rollback_policy.min_judged_evaluations`). */
        min_judged_evaluations?: number;
      };
      /**
       * @description How a release goes through the machines: the gray machine alone, then batches of `batch_size` machines, or up to the cumulative percentages of `batches`; with neither, 25, 50 and 100%. `batch_size` and `batches` are alternatives: giving both is 422 naming `pacer.batches`.
       * @default {}
       */
      pacer: {
        batch_size?: number;
        /** @description Cumulative percentages of all the machines, gray included, deployed after each batch, e.g. `[25, 50, 100]`: each above 0 and at most 100, strictly increasing (a value not above the one before is 422 naming `pacer.batches.N`), and the last one 100, every machine (else 422 naming the last). The alternative to `batch_size`. */
        batches?: number[];
        /** @default 60 */
        interval_seconds: number;
        /** @default 120 */
        gray_bake_seconds: number;
        /** @default false */
        manual_approval: boolean;
        max_parallel?: number;
      } & (
        | {
            batches?: never;
          }
        | {
            batch_size?: never;
          }
      );
      /**
       * @description The PromQL templates the metric guard and the charts measure a version with; `{{app}}`, `{{version}}` and `{{instances}}` are filled in at evaluation. With the guard enabled, the longest range window (`[1m]`) of the templates and custom rules must hold two Prometheus scrapes (PROMETHEUS_SCRAPE_INTERVAL_SECONDS, 15 s by default: a window of at least 30 s), else `rate()` never has a value: 422 naming `red_metrics_config`.
       * @default {}
       */
      red_metrics_config: {
        /**
         * @description Requests per second of a version. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. It must be a rate: one that divides by another series is refused.
         * @default sum(rate(http_requests_total{app="{{app}}",version="{{version}}"}[1m]))
         */
        rate: string;
        /**
         * @description Failed requests per second of a version (error_rate rules divide it by `rate`). It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. It must be a rate: one that divides by another series is refused (a ratio belongs in `error_ratio`).
         * @default sum(rate(http_requests_total{app="{{app}}",version="{{version}}",status=~"5.."}[1m]))
         */
        errors: string;
        /**
         * @description The p99 latency of a version, in seconds. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. A histogram_quantile over `_bucket` series must keep `le` through its aggregation.
         * @default histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[1m])))
         */
        duration: string;
        /** @description The error ratio itself (errors / requests, 0 to 1); when set, error_rate rules use it as it is instead of dividing `errors` by `rate`. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. */
        error_ratio?: string;
        /**
         * @description Further equality matchers the cpu and memory rules put in their process selectors (say `job` or `env`), values filled like a template. Each key is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`); another key is 422 naming `red_metrics_config.labels.<key>`.
         * @default {}
         */
        labels: {
          [key: string]: string;
        };
      };
      /** @description The shell command that builds a package from the repo. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field). */
      build_cmd?: string;
      artifact_path?: string;
      /** @default {} */
      health_check: {
        /**
         * @description The HTTP path relguard asks each machine for (at its host and port); it starts with `/`.
         * @default /healthz
         */
        path: string;
        /** @default 30 */
        timeout_seconds: number;
      };
      /** @default {} */
      health: {
        /** @default 15 */
        interval_seconds: number;
        /** @default 2 */
        failures_before_error: number;
      };
      /** @default false */
      auto_release: boolean;
      currentVersion: string;
      prev_version: string;
      machine_count: number;
      health_count: number;
      error_count: number;
      alert_count: number;
      active_deployment_id?: string;
      createdTime: number;
      updatedTime: number;
      /**
       * @description The paths of the values this answer masks (`repo`, `start_cmd`, `machines.0.ssh.key_path`). A masked value is `***`, or `***` in place of the credentials of a URL (`https://***@github.com/o/r.git`): credentials in `repo` are masked for every role, admin included; commands (`start_cmd`, `stop_cmd`, `build_cmd`) and SSH key paths for every role below admin. A PUT or POST that sends a mask back keeps the stored value; a mask that stands for no stored value is refused (422).
       * @example [
       *       "repo",
       *       "start_cmd",
       *       "machines.0.ssh.key_path"
       *     ]
       */
      redacted?: string[];
    };
    /** @description An application to create; relguard fills in the rest. Besides what the schema says, the api refuses with 422, naming each field: RED templates and custom rules that are not usable PromQL, a rollback policy the guard could never judge, notification channels that do not exist, and the redaction mask `***` where no stored value stands behind it (see each field). */
    ApplicationInput: {
      /** @description The application's name: 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit. A name another application has is 409. */
      name: string;
      /**
       * @description Where packages are built from (any git URL, a local path or file://); empty for an application whose packages are only uploaded. Credentials in a URL are shown as `***` to every role; a repo sent back with `***` for the credentials keeps the stored ones when the rest is the stored URL, else it is 422 naming `repo`.
       * @default
       */
      repo?: string;
      /**
       * @default local
       * @enum {string}
       */
      deployment_platform?: 'local' | 'ssh';
      /** @description The absolute path on each machine the versions are unpacked under; it starts with `/` (else 422 naming `deploy_path`). */
      deploy_path: string;
      /** @default  */
      config_path?: string;
      /** @description The shell command that starts a version on a machine. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field). */
      start_cmd: string;
      /**
       * @description The shell command that stops it; empty: relguard stops the process. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field).
       * @default
       */
      stop_cmd?: string;
      /**
       * @description The machines, in deployment order. Ids are unique in the application, and so are addresses (host and port); with `deployment_platform: ssh` every machine has `ssh` settings. Each break of these is 422 naming the machine's field (`machines.N.id`, `machines.N.port`, `machines.N.ssh`).
       * @default []
       */
      machines?: {
        /** @description The machine's id, unique in the application (a repeated id is 422 naming `machines.N.id`): 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit. */
        id: string;
        name?: string;
        host: string;
        /** @description The port the application listens on. No two machines of an application have the same host and port (the second is 422 naming `machines.N.port`): one would answer for the other. */
        port: number;
        /**
         * @default unknown
         * @enum {string}
         */
        status?: 'healthy' | 'error' | 'alert' | 'unknown';
        status_reason?: string;
        status_since?: number;
        /** @default  */
        version?: string;
        /**
         * @description Labels the machine's Prometheus target gets beside relguard's own. Each key is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`), not `app`, `version`, `instance` or `job` (relguard sets them) and not starting with `__` (Prometheus' own); a key that breaks this is 422 naming `machines.N.labels.<key>`.
         * @default {}
         */
        labels?: {
          [key: string]: string;
        };
        /** @description How relguard reaches the machine over SSH. Required on every machine when the application's `deployment_platform` is `ssh` (a machine without it is 422 naming `machines.N.ssh`). */
        ssh?: {
          user: string;
          /** @default 22 */
          port?: number;
          /** @description The private key relguard connects with, a path on the worker's host. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored key path of the machine with the same id; with no stored value it stands for, it is refused (422 naming the field). */
          key_path: string;
          known_hosts_path?: string;
          host_key_sha256?: string;
        };
      }[];
      /** @default [] */
      up_stream_ids?: string[];
      /** @default [] */
      down_stream_ids?: string[];
      /** @default {} */
      rollback_policy?: {
        /** @default true */
        enabled?: boolean;
        /** @default true */
        auto_rollback?: boolean;
        /** @default 15 */
        interval_seconds?: number;
        /** @default 3 */
        consecutive_breaches?: number;
        /**
         * @default [
         *       {
         *         "name": "error rate above 5%",
         *         "metric": "error_rate",
         *         "operator": ">",
         *         "threshold": 0.05,
         *         "relative_to_baseline": false
         *       },
         *       {
         *         "name": "p99 latency above 1s",
         *         "metric": "latency_p99",
         *         "operator": ">",
         *         "threshold": 1,
         *         "relative_to_baseline": false
         *       }
         *     ]
         */
        rules?: ({
          name: string;
          /** @enum {string} */
          metric: 'error_rate' | 'latency_p99' | 'cpu' | 'memory' | 'custom';
          /** @description The PromQL a `custom` rule measures (required for `custom`, ignored by the other metrics), with the placeholders `{{app}}`, `{{version}}` and `{{instances}}`. It must parse as PromQL, use `{{version}}` (else it cannot tell the new version from the old) and no other `{{...}}` placeholder; each problem is 422 naming `rollback_policy.rules.N.promql`. */
          promql?: string;
          /**
           * @default >
           * @enum {string}
           */
          operator?: '>' | '>=' | '<' | '<=';
          threshold: number;
          /** @default false */
          relative_to_baseline?: boolean;
          floor?: number;
          min_request_rate?: number;
        } & (
          | {
              /** @constant */
              metric: 'custom';
              promql: string;
            }
          | {
              /** @enum {unknown} */
              metric: 'error_rate' | 'latency_p99' | 'cpu' | 'memory';
            }
        ))[];
        /**
         * @default pause
         * @enum {string}
         */
        no_data?: 'ignore' | 'pause' | 'rollback';
        /**
         * @description The notification channels alerts of this application go to, by name. Each must be a channel relguard has (GET /api/v1/channels: PUT /api/v1/channels/{name} or NOTIFY_CHANNELS), so its name has the channel name pattern; a name no channel has is 422 naming `rollback_policy.notify.N`.
         * @default []
         */
        notify?: string[];
        /** @default true */
        ai_analysis?: boolean;
        /** @description After the last batch, how long the guard keeps watching every machine before the release succeeds; a breach in this window rolls every machine back. Unset: max(2 x interval_seconds x consecutive_breaches, 60). With the guard enabled it must be at least interval_seconds x consecutive_breaches, the time a rollback takes to decide (else 422 naming `rollback_policy.verify_seconds`). */
        verify_seconds?: number;
        /** @description Conclusive evaluations the guard must have made of the machines deployed so far before the release moves past the gray machine, past each batch, and out of the verification window. Unset: consecutive_breaches. With the guard enabled it must be at least consecutive_breaches (else 422 naming `rollback_policy.min_judged_evaluations`). */
        min_judged_evaluations?: number;
      };
      /**
       * @description How a release goes through the machines: the gray machine alone, then batches of `batch_size` machines, or up to the cumulative percentages of `batches`; with neither, 25, 50 and 100%. `batch_size` and `batches` are alternatives: giving both is 422 naming `pacer.batches`.
       * @default {}
       */
      pacer?: {
        batch_size?: number;
        /** @description Cumulative percentages of all the machines, gray included, deployed after each batch, e.g. `[25, 50, 100]`: each above 0 and at most 100, strictly increasing (a value not above the one before is 422 naming `pacer.batches.N`), and the last one 100, every machine (else 422 naming the last). The alternative to `batch_size`. */
        batches?: number[];
        /** @default 60 */
        interval_seconds?: number;
        /** @default 120 */
        gray_bake_seconds?: number;
        /** @default false */
        manual_approval?: boolean;
        max_parallel?: number;
      } & (
        | {
            batches?: never;
          }
        | {
            batch_size?: never;
          }
      );
      /**
       * @description The PromQL templates the metric guard and the charts measure a version with; `{{app}}`, `{{version}}` and `{{instances}}` are filled in at evaluation. With the guard enabled, the longest range window (`[1m]`) of the templates and custom rules must hold two Prometheus scrapes (PROMETHEUS_SCRAPE_INTERVAL_SECONDS, 15 s by default: a window of at least 30 s), else `rate()` never has a value: 422 naming `red_metrics_config`.
       * @default {}
       */
      red_metrics_config?: {
        /**
         * @description Requests per second of a version. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. It must be a rate: one that divides by another series is refused.
         * @default sum(rate(http_requests_total{app="{{app}}",version="{{version}}"}[1m]))
         */
        rate?: string;
        /**
         * @description Failed requests per second of a version (error_rate rules divide it by `rate`). It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. It must be a rate: one that divides by another series is refused (a ratio belongs in `error_ratio`).
         * @default sum(rate(http_requests_total{app="{{app}}",version="{{version}}",status=~"5.."}[1m]))
         */
        errors?: string;
        /**
         * @description The p99 latency of a version, in seconds. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. A histogram_quantile over `_bucket` series must keep `le` through its aggregation.
         * @default histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[1m])))
         */
        duration?: string;
        /** @description The error ratio itself (errors / requests, 0 to 1); when set, error_rate rules use it as it is instead of dividing `errors` by `rate`. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. */
        error_ratio?: string;
        /**
         * @description Further equality matchers the cpu and memory rules put in their process selectors (say `job` or `env`), values filled like a template. Each key is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`); another key is 422 naming `red_metrics_config.labels.<key>`.
         * @default {}
         */
        labels?: {
          [key: string]: string;
        };
      };
      /** @description The shell command that builds a package from the repo. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field). */
      build_cmd?: string;
      artifact_path?: string;
      /** @default {} */
      health_check?: {
        /**
         * @description The HTTP path relguard asks each machine for (at its host and port); it starts with `/`.
         * @default /healthz
         */
        path?: string;
        /** @default 30 */
        timeout_seconds?: number;
      };
      /** @default {} */
      health?: {
        /** @default 15 */
        interval_seconds?: number;
        /** @default 2 */
        failures_before_error?: number;
      };
      /** @default false */
      auto_release?: boolean;
    };
    ApplicationMetrics: {
      app_id: string;
      from: number;
      to: number;
      step_seconds: number;
      /** @enum {string} */
      by: 'version' | 'machine';
      versions: string[];
      versions_left_out: string[];
      notes: string[];
      metrics: components['schemas']['RedMetric'][];
      events: components['schemas']['ReleaseChartEvent'][];
    };
    RedMetric: {
      /** @enum {string} */
      metric: 'rate' | 'errors' | 'latency';
      unit: string;
      queries: {
        version: string;
        machine?: string;
        promql: string;
      }[];
      series: components['schemas']['MetricSeries'][];
    };
    MetricSeries: {
      labels: {
        [key: string]: string;
      };
      timestamps: number[];
      values: (number | null)[];
    };
    ReleaseChartEvent: {
      at: number;
      /** @description start, gray_deployed, batch, breach, rollback_begun, rollback_done, succeeded, failed or cancelled */
      kind: string;
      label: string;
      batch?: number;
      deployment_id: string;
      version: string;
      href: string;
    };
    /** @description The fields to change; the others keep their stored value. The application that results is checked as a whole, as a new one is: `deployment_platform: ssh` needs `ssh` settings on every machine, stored or sent; new templates are checked with the stored rules and the other way round. Each refusal is 422 naming the field. */
    ApplicationUpdate: {
      /** @description The application's name: 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit. A name another application has is 409. */
      name?: string;
      /** @description Where packages are built from (any git URL, a local path or file://); empty for an application whose packages are only uploaded. Credentials in a URL are shown as `***` to every role; a repo sent back with `***` for the credentials keeps the stored ones when the rest is the stored URL, else it is 422 naming `repo`. */
      repo?: string;
      /** @enum {string} */
      deployment_platform?: 'local' | 'ssh';
      /** @description The absolute path on each machine the versions are unpacked under; it starts with `/` (else 422 naming `deploy_path`). */
      deploy_path?: string;
      config_path?: string;
      /** @description The shell command that starts a version on a machine. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field). */
      start_cmd?: string;
      /** @description The shell command that stops it; empty: relguard stops the process. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field). */
      stop_cmd?: string;
      /** @description The machines, in deployment order. Ids are unique in the application, and so are addresses (host and port); with `deployment_platform: ssh` every machine has `ssh` settings. Each break of these is 422 naming the machine's field (`machines.N.id`, `machines.N.port`, `machines.N.ssh`). */
      machines?: {
        /** @description The machine's id, unique in the application (a repeated id is 422 naming `machines.N.id`): 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit. */
        id: string;
        name?: string;
        host: string;
        /** @description The port the application listens on. No two machines of an application have the same host and port (the second is 422 naming `machines.N.port`): one would answer for the other. */
        port: number;
        /**
         * @default unknown
         * @enum {string}
         */
        status?: 'healthy' | 'error' | 'alert' | 'unknown';
        status_reason?: string;
        status_since?: number;
        /** @default  */
        version?: string;
        /**
         * @description Labels the machine's Prometheus target gets beside relguard's own. Each key is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`), not `app`, `version`, `instance` or `job` (relguard sets them) and not starting with `__` (Prometheus' own); a key that breaks this is 422 naming `machines.N.labels.<key>`.
         * @default {}
         */
        labels?: {
          [key: string]: string;
        };
        /** @description How relguard reaches the machine over SSH. Required on every machine when the application's `deployment_platform` is `ssh` (a machine without it is 422 naming `machines.N.ssh`). */
        ssh?: {
          user: string;
          /** @default 22 */
          port?: number;
          /** @description The private key relguard connects with, a path on the worker's host. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored key path of the machine with the same id; with no stored value it stands for, it is refused (422 naming the field). */
          key_path: string;
          known_hosts_path?: string;
          host_key_sha256?: string;
        };
      }[];
      up_stream_ids?: string[];
      down_stream_ids?: string[];
      rollback_policy?: {
        /** @default true */
        enabled?: boolean;
        /** @default true */
        auto_rollback?: boolean;
        /** @default 15 */
        interval_seconds?: number;
        /** @default 3 */
        consecutive_breaches?: number;
        /**
         * @default [
         *       {
         *         "name": "error rate above 5%",
         *         "metric": "error_rate",
         *         "operator": ">",
         *         "threshold": 0.05,
         *         "relative_to_baseline": false
         *       },
         *       {
         *         "name": "p99 latency above 1s",
         *         "metric": "latency_p99",
         *         "operator": ">",
         *         "threshold": 1,
         *         "relative_to_baseline": false
         *       }
         *     ]
         */
        rules?: ({
          name: string;
          /** @enum {string} */
          metric: 'error_rate' | 'latency_p99' | 'cpu' | 'memory' | 'custom';
          /** @description The PromQL a `custom` rule measures (required for `custom`, ignored by the other metrics), with the placeholders `{{app}}`, `{{version}}` and `{{instances}}`. It must parse as PromQL, use `{{version}}` (else it cannot tell the new version from the old) and no other `{{...}}` placeholder; each problem is 422 naming `rollback_policy.rules.N.promql`. */
          promql?: string;
          /**
           * @default >
           * @enum {string}
           */
          operator?: '>' | '>=' | '<' | '<=';
          threshold: number;
          /** @default false */
          relative_to_baseline?: boolean;
          floor?: number;
          min_request_rate?: number;
        } & (
          | {
              /** @constant */
              metric: 'custom';
              promql: string;
            }
          | {
              /** @enum {unknown} */
              metric: 'error_rate' | 'latency_p99' | 'cpu' | 'memory';
            }
        ))[];
        /**
         * @default pause
         * @enum {string}
         */
        no_data?: 'ignore' | 'pause' | 'rollback';
        /**
         * @description The notification channels alerts of this application go to, by name. Each must be a channel relguard has (GET /api/v1/channels: PUT /api/v1/channels/{name} or NOTIFY_CHANNELS), so its name has the channel name pattern; a name no channel has is 422 naming `rollback_policy.notify.N`.
         * @default []
         */
        notify?: string[];
        /** @default true */
        ai_analysis?: boolean;
        /** @description After the last batch, how long the guard keeps watching every machine before the release succeeds; a breach in this window rolls every machine back. Unset: max(2 x interval_seconds x consecutive_breaches, 60). With the guard enabled it must be at least interval_seconds x consecutive_breaches, the time a rollback takes to decide (else 422 naming `rollback_policy.verify_seconds`). */
        verify_seconds?: number;
        /** @description Conclusive evaluations the guard must have made of the machines deployed so far before the release moves past the gray machine, past each batch, and out of the verification window. Unset: consecutive_breaches. With the guard enabled it must be at least consecutive_breaches (else 422 naming `rollback_policy.min_judged_evaluations`). */
        min_judged_evaluations?: number;
      };
      /** @description How a release goes through the machines: the gray machine alone, then batches of `batch_size` machines, or up to the cumulative percentages of `batches`; with neither, 25, 50 and 100%. `batch_size` and `batches` are alternatives: giving both is 422 naming `pacer.batches`. */
      pacer?: {
        batch_size?: number;
        /** @description Cumulative percentages of all the machines, gray included, deployed after each batch, e.g. `[25, 50, 100]`: each above 0 and at most 100, strictly increasing (a value not above the one before is 422 naming `pacer.batches.N`), and the last one 100, every machine (else 422 naming the last). The alternative to `batch_size`. */
        batches?: number[];
        /** @default 60 */
        interval_seconds?: number;
        /** @default 120 */
        gray_bake_seconds?: number;
        /** @default false */
        manual_approval?: boolean;
        max_parallel?: number;
      } & (
        | {
            batches?: never;
          }
        | {
            batch_size?: never;
          }
      );
      /** @description The PromQL templates the metric guard and the charts measure a version with; `{{app}}`, `{{version}}` and `{{instances}}` are filled in at evaluation. With the guard enabled, the longest range window (`[1m]`) of the templates and custom rules must hold two Prometheus scrapes (PROMETHEUS_SCRAPE_INTERVAL_SECONDS, 15 s by default: a window of at least 30 s), else `rate()` never has a value: 422 naming `red_metrics_config`. */
      red_metrics_config?: {
        /**
         * @description Requests per second of a version. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. It must be a rate: one that divides by another series is refused.
         * @default sum(rate(http_requests_total{app="{{app}}",version="{{version}}"}[1m]))
         */
        rate?: string;
        /**
         * @description Failed requests per second of a version (error_rate rules divide it by `rate`). It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. It must be a rate: one that divides by another series is refused (a ratio belongs in `error_ratio`).
         * @default sum(rate(http_requests_total{app="{{app}}",version="{{version}}",status=~"5.."}[1m]))
         */
        errors?: string;
        /**
         * @description The p99 latency of a version, in seconds. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. A histogram_quantile over `_bucket` series must keep `le` through its aggregation.
         * @default histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[1m])))
         */
        duration?: string;
        /** @description The error ratio itself (errors / requests, 0 to 1); when set, error_rate rules use it as it is instead of dividing `errors` by `rate`. It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field. */
        error_ratio?: string;
        /**
         * @description Further equality matchers the cpu and memory rules put in their process selectors (say `job` or `env`), values filled like a template. Each key is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`); another key is 422 naming `red_metrics_config.labels.<key>`.
         * @default {}
         */
        labels?: {
          [key: string]: string;
        };
      };
      /** @description The shell command that builds a package from the repo. Shown as `***` to roles below admin. A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field). */
      build_cmd?: string;
      artifact_path?: string;
      health_check?: {
        /**
         * @description The HTTP path relguard asks each machine for (at its host and port); it starts with `/`.
         * @default /healthz
         */
        path?: string;
        /** @default 30 */
        timeout_seconds?: number;
      };
      health?: {
        /** @default 15 */
        interval_seconds?: number;
        /** @default 2 */
        failures_before_error?: number;
      };
      auto_release?: boolean;
    };
    DeletedApplication: {
      id: string;
      name: string;
      /** @enum {string} */
      machines: 'stopped' | 'kept';
      affected: {
        machine_id: string;
        host: string;
        port: number;
        version: string;
      }[];
    };
    MachineEvent: {
      id: string;
      app_id: string;
      machine_id: string;
      /** @enum {string} */
      status: 'healthy' | 'error' | 'alert' | 'unknown';
      reason: string;
      version: string;
      at: number;
    };
    Deployment: {
      id: string;
      app_name: string;
      app_id: string;
      /** @enum {string} */
      status:
        | 'pending'
        | 'building'
        | 'deploying'
        | 'paused'
        | 'verifying'
        | 'succeeded'
        | 'failed'
        | 'rolling_back'
        | 'rolled_back'
        | 'cancelled';
      package_version: string;
      gray_machine_id: string;
      /** @enum {string} */
      platform: 'local' | 'ssh';
      package?: {
        url: string;
        md5: string;
        sha256?: string;
        size: number;
        created_at: number;
        commit_sha?: string;
      };
      expected_sha?: string;
      node_deployments: {
        machine_id: string;
        batch: number;
        /** @enum {string} */
        status:
          | 'pending'
          | 'deploying'
          | 'deployed'
          | 'failed'
          | 'rolling_back'
          | 'rolled_back'
          | 'skipped';
        version: string;
        started_at?: number;
        finished_at?: number;
        error?: string;
      }[];
      /** @default  */
      previous_version: string;
      reason?: string;
      rollback?: {
        reason: string;
        requested_by: string;
        requested_at?: number;
        detected_at?: number;
        first_breach_at?: number;
        failing?: {
          rule: string;
          metric: string;
          promql: string;
          baseline_promql?: string;
          value?: number;
          baseline?: number;
          operator: string;
          threshold: number;
          /** @enum {string} */
          verdict: 'pass' | 'fail' | 'no_data' | 'error';
          message: string;
        }[];
      };
      actions?: {
        /** @enum {string} */
        action: 'start' | 'pause' | 'resume' | 'approve' | 'promote' | 'rollback' | 'cancel';
        by: string;
        at: number;
        reason?: string;
      }[];
      timeline?: {
        at: number;
        /** @enum {string} */
        kind: 'status' | 'machine';
        status:
          | (
              | 'pending'
              | 'building'
              | 'deploying'
              | 'paused'
              | 'verifying'
              | 'succeeded'
              | 'failed'
              | 'rolling_back'
              | 'rolled_back'
              | 'cancelled'
            )
          | (
              | 'pending'
              | 'deploying'
              | 'deployed'
              | 'failed'
              | 'rolling_back'
              | 'rolled_back'
              | 'skipped'
            );
        machine_id?: string;
        batch?: number;
        version?: string;
        reason?: string;
      }[];
      alert_deliveries?: {
        /** @enum {string} */
        kind:
          | 'rolled_back'
          | 'paused'
          | 'release_failed'
          | 'guard_blind'
          | 'analysis_ready'
          | 'machine_down'
          | 'machine_recovered';
        channel: string;
        /** @enum {string} */
        status: 'sent' | 'retrying' | 'failed';
        attempt: number;
        error?: string;
        at: number;
      }[];
      createdTime: number;
      updatedTime: number;
      workflow_id: string;
      workflow_url: string;
      progress?: components['schemas']['ReleaseProgress'];
    };
    ReleaseProgress: {
      /** @enum {string} */
      status:
        | 'pending'
        | 'building'
        | 'deploying'
        | 'paused'
        | 'verifying'
        | 'succeeded'
        | 'failed'
        | 'rolling_back'
        | 'rolled_back'
        | 'cancelled';
      phase: string;
      paused: boolean;
      awaitingApproval: boolean;
      batch: number;
      batches: number;
      machines: {
        machine_id: string;
        batch: number;
        /** @enum {string} */
        status:
          | 'pending'
          | 'deploying'
          | 'deployed'
          | 'failed'
          | 'rolling_back'
          | 'rolled_back'
          | 'skipped';
      }[];
      waitingUntil?: number;
      awaitingJudgement?: {
        machines: number;
        required: number;
      };
      promotable: boolean;
      reason?: string;
    };
    ReleaseInProgress: {
      error: {
        /** @enum {string} */
        code: 'conflict';
        message: string;
        details: {
          /** @description The release that holds the slot */
          deployment_id: string;
        };
      };
    };
    /** @description A release to start. Besides the schema, it is 422 when the application has no machines, or has neither a package of the version nor a repo to build one from. */
    CreateDeployment: {
      /** @description The application's id (404 when no application has it) */
      app_id: string;
      /**
       * @description A git tag name that is safe everywhere relguard puts it: 1 to 128 ASCII letters, digits, `.`, `_`, `+` and `-`, starting with a letter or digit, without `..`, not ending with `.` or `.lock`.
       * @example v1.2.0
       */
      package_version: string;
      /** @description The machine deployed first, alone, and baked: the id of one of the application's machines (another id is 422 naming it in `error.details.gray_machine_id`). Default: the application's first machine */
      gray_machine_id?: string;
      /** @description Who the token acts for (`ci for alice`): 1 to 100 characters, counted in UTF-16 code units (a character beyond U+FFFF counts two) */
      requested_by?: string;
    };
    AnalysisReport: {
      summary: string;
      /** @enum {string} */
      fault_class: 'errors' | 'latency' | 'cpu' | 'memory' | 'saturation' | 'unknown';
      anomalous_metrics: {
        name: string;
        promql: string;
        observed?: number;
        baseline?: number;
        observation: string;
      }[];
      root_cause: string;
      suspect_changes: {
        number?: number;
        title: string;
        url?: string;
        author?: string;
        score: number;
        evidence: string[];
      }[];
      remediation: string[];
      confidence: number;
      deployment_id: string;
      app_id: string;
      app_name: string;
      version: string;
      previous_version: string;
      /** @enum {string} */
      trigger: 'rollback' | 'alert' | 'manual';
      reason: string;
      analyzer: string;
      model?: string;
      fallback_reason?: string;
      tool_calls: {
        tool: string;
        arguments: {
          [key: string]: unknown;
        };
        ok: boolean;
        detail?: string;
      }[];
      window: {
        from: number;
        to: number;
      };
      baseline_window: {
        from: number;
        to: number;
      };
      changes: {
        source: string;
        compare_url?: string;
        pull_requests: number;
        truncated: boolean;
        note?: string;
      };
      createdTime: number;
    };
    AnalysisSeries: {
      deployment_id: string;
      from: number;
      to: number;
      step_seconds: number;
      baseline_window: {
        from: number;
        to: number;
      };
      release_window: {
        from: number;
        to: number;
      };
      markers: {
        /** @enum {string} */
        kind:
          | 'start'
          | 'gray_deployed'
          | 'batch'
          | 'breach'
          | 'rollback_begun'
          | 'rollback_done'
          | 'succeeded'
          | 'failed'
          | 'cancelled';
        at: number;
        label: string;
        batch?: number;
      }[];
      items: {
        name: string;
        promql: string;
        chart_promql: string;
        unpinned: string[];
        unpin_error?: string;
        series: components['schemas']['MetricSeries'][];
        error?: string;
      }[];
    };
    GuardEvaluations: {
      deployment_id: string;
      items: components['schemas']['GuardEvaluation'][];
    };
    GuardEvaluation: {
      deployment_id: string;
      at: number;
      app: string;
      version: string;
      baseline_version: string;
      instances: string[];
      /** @enum {string} */
      verdict: 'pass' | 'fail' | 'no_data' | 'error';
      results: {
        rule: string;
        metric: string;
        promql: string;
        baseline_promql?: string;
        value?: number;
        baseline?: number;
        operator: string;
        threshold: number;
        /** @enum {string} */
        verdict: 'pass' | 'fail' | 'no_data' | 'error';
        message: string;
      }[];
    };
    ReleaseAction: {
      reason?: string;
      requested_by?: string;
    };
    Package: {
      url: string;
      md5: string;
      sha256?: string;
      size: number;
      created_at: number;
      commit_sha?: string;
      id: string;
      app_id: string;
      app_name: string;
      version: string;
      key: string;
      tag_sha?: string;
    };
    CreatePackage: {
      app_id: string;
      /**
       * @description A git tag name that is safe everywhere relguard puts it: 1 to 128 ASCII letters, digits, `.`, `_`, `+` and `-`, starting with a letter or digit, without `..`, not ending with `.` or `.lock`.
       * @example v1.2.0
       */
      version: string;
    };
    CreatedApiToken: {
      id: string;
      name: string;
      /** @enum {string} */
      role: 'viewer' | 'deployer' | 'admin';
      createdTime: number;
      created_by: string;
      /** @description When the token was last used (epoch ms), to the minute: it is recorded at most once a minute */
      last_used_at?: number;
      /** @description When the token stops working (epoch ms); a request carrying it afterwards is 401 saying it expired. Absent: it never expires */
      expires_at?: number;
      token: string;
    };
    /** @description A token to create. `expires_in` and `expires_at` are alternatives: giving both is 422 naming `expires_at`; with neither the token never expires. */
    NewApiToken: {
      /** @description The token's name, as the audit and the deployments show who acted: 1 to 100 characters (UTF-16 code units: a character beyond U+FFFF, an emoji say, counts two), no control character (U+0000-U+001F, U+007F-U+009F), not only spaces. */
      name: string;
      /** @enum {string} */
      role: 'viewer' | 'deployer' | 'admin';
      /** @description How long the token works from now: a duration (`90d`, `12h`, `1h30m`) or seconds, 1 minute to 10 years (else 422 naming `expires_in`). Not with `expires_at` */
      expires_in?: number | string;
      /** @description When the token stops working (epoch ms), in the future: a time already past is 422 naming `expires_at`. Not with `expires_in` */
      expires_at?: number;
    } & (
      | {
          expires_at?: never;
        }
      | {
          expires_in?: never;
        }
    );
    ApiToken: {
      id: string;
      name: string;
      /** @enum {string} */
      role: 'viewer' | 'deployer' | 'admin';
      createdTime: number;
      created_by: string;
      /** @description When the token was last used (epoch ms), to the minute: it is recorded at most once a minute */
      last_used_at?: number;
      /** @description When the token stops working (epoch ms); a request carrying it afterwards is 401 saying it expired. Absent: it never expires */
      expires_at?: number;
    };
    AuditEntry: {
      id: string;
      at: number;
      actor: string;
      token_id: string;
      /** @enum {string} */
      role: 'viewer' | 'deployer' | 'admin';
      method: string;
      path: string;
      status: number;
    };
    Whoami: {
      name: string;
      /** @enum {string} */
      role: 'viewer' | 'deployer' | 'admin';
    };
    NotifyChannelView: {
      name: string;
      /** @enum {string} */
      type: 'webhook' | 'slack' | 'feishu' | 'dingtalk' | 'wecom';
      host: string;
      secret_set: boolean;
      /** @enum {string} */
      source: 'env' | 'api';
      updated_at: number;
    };
    NotifyChannel: {
      /** @enum {string} */
      type: 'webhook' | 'slack' | 'feishu' | 'dingtalk' | 'wecom';
      /**
       * Format: uri
       * @description The incoming-webhook URL the service gave (it often carries the access token): an absolute URL as WHATWG URL parsing reads it (`new URL()`), with a scheme and, for http and https, a host.
       */
      url: string;
      secret?: string;
    };
    AlertmanagerWebhook: {
      version: string;
      /** @enum {string} */
      status: 'firing' | 'resolved';
      receiver?: string;
      alerts: ({
        /** @enum {string} */
        status: 'firing' | 'resolved';
        labels: {
          [key: string]: string;
        };
        /** @default {} */
        annotations?: {
          [key: string]: string;
        };
        /** Format: date-time */
        startsAt: string;
        fingerprint?: string;
      } & {
        [key: string]: unknown;
      })[];
    } & {
      [key: string]: unknown;
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  getHealth: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Both answer */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Health'];
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description One is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Health'];
        };
      };
    };
  };
  listApplications: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Applications */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            items: components['schemas']['Application'][];
          };
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  createApplication: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['ApplicationInput'];
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Application'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getApplication: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The application */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Application'];
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  updateApplication: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['ApplicationUpdate'];
      };
    };
    responses: {
      /** @description The updated application */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Application'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  deleteApplication: {
    parameters: {
      query?: {
        /** @description What to do with machines that run a version relguard deployed: `stop` them through their platform, or `keep` them running (unwatched). Required when there are any. */
        machines?: 'stop' | 'keep';
      };
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted; says which machines were stopped or left running */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['DeletedApplication'];
        };
      };
      /** @description Deleted; no machine ran a version relguard deployed */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Temporal is down, or a machine could not be stopped: nothing was deleted */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getApplicationMetrics: {
    parameters: {
      query?: {
        minutes?: number;
        by?: 'version' | 'machine';
      };
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The series */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApplicationMetrics'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The application's RED templates cannot be rendered or are refused by Prometheus */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Prometheus is down, or this api has none configured */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listMachineEvents: {
    parameters: {
      query?: {
        machine?: string;
        limit?: number;
      };
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The events */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            items: components['schemas']['MachineEvent'][];
          };
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listDeployments: {
    parameters: {
      query?: {
        app_id?: string;
        limit?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deployments */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            items: {
              id: string;
              app_name: string;
              app_id: string;
              /** @enum {string} */
              status:
                | 'pending'
                | 'building'
                | 'deploying'
                | 'paused'
                | 'verifying'
                | 'succeeded'
                | 'failed'
                | 'rolling_back'
                | 'rolled_back'
                | 'cancelled';
              package_version: string;
              gray_machine_id: string;
              /** @enum {string} */
              platform: 'local' | 'ssh';
              package?: {
                url: string;
                md5: string;
                sha256?: string;
                size: number;
                created_at: number;
                commit_sha?: string;
              };
              expected_sha?: string;
              node_deployments: {
                machine_id: string;
                batch: number;
                /** @enum {string} */
                status:
                  | 'pending'
                  | 'deploying'
                  | 'deployed'
                  | 'failed'
                  | 'rolling_back'
                  | 'rolled_back'
                  | 'skipped';
                version: string;
                started_at?: number;
                finished_at?: number;
                error?: string;
              }[];
              /** @default  */
              previous_version: string;
              reason?: string;
              rollback?: {
                reason: string;
                requested_by: string;
                requested_at?: number;
                detected_at?: number;
                first_breach_at?: number;
                failing?: {
                  rule: string;
                  metric: string;
                  promql: string;
                  baseline_promql?: string;
                  value?: number;
                  baseline?: number;
                  operator: string;
                  threshold: number;
                  /** @enum {string} */
                  verdict: 'pass' | 'fail' | 'no_data' | 'error';
                  message: string;
                }[];
              };
              actions?: {
                /** @enum {string} */
                action:
                  'start' | 'pause' | 'resume' | 'approve' | 'promote' | 'rollback' | 'cancel';
                by: string;
                at: number;
                reason?: string;
              }[];
              timeline?: {
                at: number;
                /** @enum {string} */
                kind: 'status' | 'machine';
                status:
                  | (
                      | 'pending'
                      | 'building'
                      | 'deploying'
                      | 'paused'
                      | 'verifying'
                      | 'succeeded'
                      | 'failed'
                      | 'rolling_back'
                      | 'rolled_back'
                      | 'cancelled'
                    )
                  | (
                      | 'pending'
                      | 'deploying'
                      | 'deployed'
                      | 'failed'
                      | 'rolling_back'
                      | 'rolled_back'
                      | 'skipped'
                    );
                machine_id?: string;
                batch?: number;
                version?: string;
                reason?: string;
              }[];
              alert_deliveries?: {
                /** @enum {string} */
                kind:
                  | 'rolled_back'
                  | 'paused'
                  | 'release_failed'
                  | 'guard_blind'
                  | 'analysis_ready'
                  | 'machine_down'
                  | 'machine_recovered';
                channel: string;
                /** @enum {string} */
                status: 'sent' | 'retrying' | 'failed';
                attempt: number;
                error?: string;
                at: number;
              }[];
              createdTime: number;
              updatedTime: number;
            }[];
          };
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  createDeployment: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['CreateDeployment'];
      };
    };
    responses: {
      /** @description Started; follow it with GET /api/v1/deployments/{id} */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Deployment'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A release of the application is in progress: `error.details.deployment_id` names it (follow or cancel it, then retry) */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ReleaseInProgress'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Temporal or the database is unavailable, or the release slot changed hands while this request waited and no release holds it now (the message says which): nothing was started; try again */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getDeployment: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The deployment */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Deployment'];
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getAnalysis: {
    parameters: {
      query?: {
        format?: 'json' | 'markdown';
      };
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The report */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AnalysisReport'];
          'text/markdown': string;
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getAnalysisSeries: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The series */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AnalysisSeries'];
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Prometheus is down, or this api has none configured */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  getGuardEvaluations: {
    parameters: {
      query?: {
        limit?: number;
      };
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The evaluations */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['GuardEvaluations'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  pauseDeployment: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['ReleaseAction'];
      };
    };
    responses: {
      /** @description Sent to the release */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Deployment'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A dependency (Temporal or MongoDB) is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  resumeDeployment: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['ReleaseAction'];
      };
    };
    responses: {
      /** @description Sent to the release */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Deployment'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A dependency (Temporal or MongoDB) is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  approveDeployment: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['ReleaseAction'];
      };
    };
    responses: {
      /** @description Sent to the release */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Deployment'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A dependency (Temporal or MongoDB) is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  promoteDeployment: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['ReleaseAction'];
      };
    };
    responses: {
      /** @description Sent to the release */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Deployment'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A dependency (Temporal or MongoDB) is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  rollbackDeployment: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['ReleaseAction'];
      };
    };
    responses: {
      /** @description Sent to the release */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Deployment'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A dependency (Temporal or MongoDB) is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  cancelDeployment: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['ReleaseAction'];
      };
    };
    responses: {
      /** @description Sent to the release */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Deployment'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A dependency (Temporal or MongoDB) is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  createPackage: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['CreatePackage'];
      };
    };
    responses: {
      /** @description The package exists already */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Package'];
        };
      };
      /** @description The build started; the package appears in the application’s list when done */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            workflow_id: string;
            workflow_url: string;
          };
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A dependency (Temporal or MongoDB) is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listPackages: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Packages */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            items: components['schemas']['Package'][];
          };
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  uploadPackage: {
    parameters: {
      query?: {
        /** @description The body's MD5, as 32 hex digits: a body whose MD5 differs is refused (422) and nothing is stored */
        md5?: string;
        /** @description The body's SHA-256, as 64 hex digits: a body whose SHA-256 differs is refused (422) and nothing is stored */
        sha256?: string;
      };
      header?: never;
      path: {
        id: string;
        /** @description A git tag name that is safe everywhere relguard puts it: 1 to 128 ASCII letters, digits, `.`, `_`, `+` and `-`, starting with a letter or digit, without `..`, not ending with `.` or `.lock`. */
        version: string;
      };
      cookie?: never;
    };
    /** @description The .tar.gz; a body sent without a Content-Type is taken as `application/octet-stream` */
    requestBody: {
      content: {
        'application/gzip': Blob;
        'application/x-gzip': Blob;
        'application/octet-stream': Blob;
      };
    };
    responses: {
      /** @description The same bytes were recorded for the version meanwhile: that package */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Package'];
        };
      };
      /** @description Stored and recorded */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Package'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Larger than the api accepts (PACKAGE_UPLOAD_MAX_MB) */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The Content-Type is not one of application/gzip, application/x-gzip, application/octet-stream */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listTokens: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Tokens */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            items: components['schemas']['ApiToken'][];
          };
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  createToken: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['NewApiToken'];
      };
    };
    responses: {
      /** @description Created; `token` is the secret, never shown again */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['CreatedApiToken'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  revokeToken: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Revoked */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listAudit: {
    parameters: {
      query?: {
        limit?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Audit entries */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            items: components['schemas']['AuditEntry'][];
          };
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  whoami: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The token's name and role */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Whoami'];
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  listChannels: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Channels, by name */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            channels: components['schemas']['NotifyChannelView'][];
          };
        };
      };
      /** @description The path or query is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below viewer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  putChannel: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A channel's name: 1 to 64 letters, digits, `_`, `.` and `-`, starting with a letter or digit. */
        name: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['NotifyChannel'];
      };
    };
    responses: {
      /** @description The channel as stored */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['NotifyChannelView'];
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  deleteChannel: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A channel's name: 1 to 64 letters, digits, `_`, `.` and `-`, starting with a letter or digit. */
        name: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below admin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Conflict with the current state */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again */
      429: {
        headers: {
          /** @description Seconds until this token may write again */
          'Retry-After'?: number;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The database (MongoDB) is unavailable; try again shortly */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  receiveAlertmanagerWebhook: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['AlertmanagerWebhook'];
      };
    };
    responses: {
      /** @description What was started and what was ignored, with why */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            started: {
              app: string;
              deployment_id: string;
              workflow_id: string;
              alerts: string[];
            }[];
            ignored: {
              alert: string;
              reason: string;
            }[];
            machines: {
              app: string;
              machine_id: string;
              alert: string;
              /** @enum {string} */
              status: 'firing' | 'resolved';
            }[];
          };
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No valid bearer token */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The token's role is below deployer */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description A dependency (Temporal or MongoDB) is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
  receiveGithubWebhook: {
    parameters: {
      query?: never;
      header: {
        /** @description `sha256=` and the hex HMAC-SHA256 of the raw body (401 without it) */
        'x-hub-signature-256': string;
        /** @description The event (`ping`, `push`, `create`; others are ignored): 400 without it */
        'x-github-event': string;
        /** @description Unique per delivery: a tag push without it is 400 (a redelivery could not be told apart) */
        'x-github-delivery'?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': Record<string, never>;
      };
    };
    responses: {
      /** @description A ping answered, or a delivery seen before (nothing started) */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json':
            | {
                /** @enum {boolean} */
                pong: true;
                zen?: string;
              }
            | {
                delivery: string;
                /** @enum {boolean} */
                duplicate: true;
              };
        };
      };
      /** @description What was started for each application of the repository, or why the event was ignored */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json':
            | {
                delivery: string;
                tag: string;
                started: {
                  app: string;
                  package_workflow_id?: string;
                  release?:
                    | {
                        deployment_id: string;
                        workflow_id: string;
                        workflow_url: string;
                        status: string;
                      }
                    | {
                        refused: string;
                        active_deployment_id?: string;
                      };
                }[];
                ignored: {
                  app?: string;
                  reason: string;
                }[];
              }
            | {
                delivery?: string;
                ignored: string;
              };
        };
      };
      /** @description Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description Missing, malformed or wrong signature */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body is larger than the api accepts */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`) */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
      /** @description No GITHUB_WEBHOOK_SECRET configured, or a dependency is unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Error'];
        };
      };
    };
  };
}
