"""Back-office use cases, one module per responsibility.

* :mod:`.audit` — the audit log (``audit/{id}``);
* :mod:`.approvals` — maker-checker approvals (``approvals/{id}``);
* :mod:`.adjustments` — manual ledger changes, levels, groups, blocking;
* :mod:`.program` — the program config: view, history, a new version;
* :mod:`.config_tools` — the program editor's reads: a draft's diff, one version, a cart priced both ways;
* :mod:`.promos` — promo codes: create, switch off, list, usage;
* :mod:`.mass_accruals` — mass accruals (``jobs/{job_id}``);
* :mod:`.customers` — customer search, detail and ledger;
* :mod:`.orders` — call-centre orders;
* :mod:`.payouts` — payout requests: list, approve, reject, paid;
* :mod:`.reports` — the bonus liability report;
* :mod:`.common` — the rules they share (ids, a required reason, a blocked customer).

Every use case takes the authenticated :class:`~shared.edge.admin_auth.Admin` and
checks its role first (:data:`shared.edge.admin_auth.PERMISSIONS`), so the rules
hold whoever calls them, not only the HTTP function, and answers a response
model of :mod:`shared.api.admin` (or a domain object of :mod:`shared.domain.admin`).

**Audit log** — one record per successful action, and per approval decided.
Refusals (a missing role, bad input, a rule) are not recorded: they changed
nothing and are in the request logs. The record commits in the same
transaction as the change (the other areas' use cases — config publish, promo
creation, orders, payouts — take it as their ``then`` step), so there is
exactly one record per change and a replay writes none; a mass-accrual run,
which spans many transactions, is recorded right after. ``key`` (time, then
id) orders the log newest first.

The back office reads other areas' documents (customer records, identities,
promo codes, payouts, the program's head) through the unit of work's
repositories and the owning areas' use cases, and changes them only through
those use cases.
"""
