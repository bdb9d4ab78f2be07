//! feishu-sync's integration tests: one binary, one module per concern. Every test gets a
//! fresh database of its own (`#[sqlx::test]`, which needs `DATABASE_URL` naming a role
//! that may create databases) and, where it talks to Feishu, a `feishu-sim` simulator on a
//! free port. Unit tests live beside their code in `src/`.

mod helpers;

/// What the API's answers mean: refused parameters, stale tokens, capped lists.
mod answers;
/// The binary as an operator runs it: configuration, exit codes, messages, secrets.
mod cli;
/// The shared client against a misbehaving server: rate limits, tokens, faults.
mod client_resilience;
/// `check`, `reset`, `dbt-sources`, and the dashboard and alerts against `/metrics`.
mod commands;
/// Processes killed at random points, and Postgres restarted under a running sync.
mod crash;
/// The organisation directory: contact range, retirement, approvals for everyone, schema.
mod directory;
/// The directory's people counted right: status flags, field scopes, primary departments.
mod directory_status;
/// Real-time sync over the long connection: events, acks, reconnects, subscriptions.
mod events;
/// Events beside the rest: the approval stream's lock, the connection in `status --json`.
mod events_beside;
/// The long connection itself: drops, silence, a database down, restarts, refusals, SIGTERM.
mod events_connection;
/// Malformed records, random failures and slow answers, resumed passes.
mod faults;
/// A data engineer's first hour: refused credentials, sweeps, status --check, clear errors.
mod first_hour;
/// `grant-reader` against existing roles: refusals, the analytics surface, `--operational`.
mod grant;
/// The change history: versions, as-of functions, duration views, pruning.
mod history;
/// Hostile answers: NUL, lone surrogates, bogus times, endless paging, huge bodies.
mod hostile;
/// Stream locks during a run: a lost lock session stops the run and fails it.
mod locks;
/// Answers once read too narrowly: 99991665, 40003, 1580901, scopes, 43010, same token.
mod narrow_answers;
/// Performance results: reviewees, review data, metrics, dictionaries, views.
mod performance_results;
/// The performance results' views after a first sync: results, distribution, gaps, attainment.
mod performance_views;
/// The platform's refusals: monthly quota, tenant tokens, scopes; token lifetimes.
mod platform;
/// The service's probes when the quota, the configuration or the database fails.
mod probes;
/// Frequency limits below the configured rate: the learned ceiling, in status and the next run.
mod rate_ceilings;
/// The one rule for retirement: no child row retired while its parent stream fails.
mod retirement;
/// Review data's semesters, ten a request: watermarks that move only with the whole group.
mod review_data;
/// The semesters and their activities: batches, a semester that returns, an empty list.
mod semesters;
/// `feishu-sync run`: schedules, backfill at start, graceful shutdown, `/healthz`.
mod service;
/// The stage tasks: paging inside `data`, retirement by whole-semester reads only.
mod stage_tasks;
/// Every stream together against the simulator's tenant: first sync, increments, retirement.
mod streams;
/// The sweeps: what the incremental time filters cannot see.
mod sweeps;
/// The tasks: what the create-time watermark cannot see, a rejected page token.
mod tasks;
