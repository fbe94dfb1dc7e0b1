"""Generate a large, deterministic spec set for the compiler benchmark.

    python bench/gen_specs.py OUT_DIR [--alerts 5000] [--goals 500] [--tasks 10] [--files 20]

The catalog is LANGUAGE.md's; alerts vary their functions, where clauses and
segment playbooks; each goal template has `--tasks` tasks in `after` chains
(the last one recurring) in an enterprise playbook, plus a default playbook.
The same arguments always give the same files (seeded random choices).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

CATALOG = """account {
  name: text
  csm: text
  segment: enum(smb, mid_market, enterprise)
  region: enum(amer, emea, apac)
  tier: enum(standard, premium)
  stage: enum(onboarding, adoption, mature)
  contract: enum(monthly, annual)
  sales_handoff_date: date
  go_live_date: date
  renewal_date: date
}
metric mau: count "Monthly active users"
metric feature_adoption: percent "Share of licensed features in use"
metric mrr: money "Monthly recurring revenue"
metric seat_utilization: percent "Seats in use over seats licensed"
metric health_score: number "Health score, 0 to 100"
metric invoice_days_overdue: count "Days the oldest unpaid invoice is past due"
metric tickets_opened: count "Support tickets opened since the previous snapshot"
metric nps: number "Latest NPS answer, 0 to 10"
"""

CONDITIONS = [
    "pct_change(mau, {w}d) <= -{p}%",
    "change(feature_adoption, {w}d) <= -{p}%",
    "invoice_days_overdue > {n}",
    "pct_change(mrr, {w}d) < -{p}%",
    "sum(tickets_opened, {w}d) >= {n}",
    "nps <= 6 and nps is not empty",
    "avg(health_score, {w}d) < {n} and min(mau, {w}d) < value_at(mau, {w}d)",
    "seat_utilization > {p}% or count(nps, {w}d) == 0",
    "days_until(renewal_date) < {n} and account.contract == annual and health_score < {n}",
    "previous(health_score) - health_score >= {n} or max(tickets_opened, {w}d) > {n}",
]
WHERES = [
    "tier == premium",
    "segment in (smb, mid_market)",
    "region != apac and contract == annual",
    "stage == mature",
    "account.segment not in (smb) and days_since(go_live_date) > 30",
]


def alert(i: int, rng: random.Random, seen: set | None = None) -> str:
    cond = rng.choice(CONDITIONS).format(w=rng.choice([7, 14, 30]), p=rng.randint(5, 40), n=rng.randint(3, 60))
    lines = [f'alert a{i} "Alert number {i}" {{', f"  severity: {rng.choice(['low', 'medium', 'high', 'critical'])}"]
    where = rng.choice(WHERES) if rng.random() < 0.5 else None
    if where is not None:
        lines.append(f"  where: {where}")
    hold = rng.randint(1, 5) if rng.random() < 0.5 else 0
    if seen is not None:  # the spec set is clean: no two alerts with one trigger (W200)
        while (cond, where, hold) in seen:
            cond += f" and mau >= {i}"
        seen.add((cond, where, hold))
    lines.append(f"  when: {cond}")
    if hold:
        lines.append(f"  for: {hold}d")
    if rng.random() < 0.5:
        # a cooldown of at most `for` + 2 days never delays a fire (W201)
        lines.append(f"  cooldown: {max(rng.choice([7, 14, 30]), hold + 3)}d")
    if rng.random() < 0.3:
        lines += [
            "  playbook enterprise where segment == enterprise {",
            f'    task call "Call {{{{ account.name }}}} about a{i}" {{ type: call  owner: csm  due: 2d }}',
            "  }",
            "  playbook rest {",
            '    task email "Email the champion" { type: email  due: 1d }',
            "  }",
        ]
    else:
        lines += [
            "  playbook {",
            '    task call "Call {{ account.name }}: {{ pct_change(mau, 7d) | pct }}" { type: call  due: 2d }',
            '    task review "Review the account" { type: todo  due: 5d }',
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines)


def goal(i: int, rng: random.Random, tasks: int) -> str:
    deploy = rng.choice(
        ["on sales_handoff_date", "on go_live_date + 7d", "on renewal_date - 120d", "when seat_utilization >= 85%", "manual"]
    )
    kpi = rng.choice(["health_score >= 70", "mrr up 10%", "mau up 20%", "tickets_opened down 20%"])
    if (" up " in kpi or " down " in kpi) and deploy != "manual":
        # measured from a base above 0 (W500), on the KPI's line so that the line count stays
        kpi += f"  where: {kpi.split()[0]} > 0"
    category = rng.choice(["onboarding", "adoption", "expansion", "retention"])
    duration = rng.choice([30, 60, 90])
    lines = [
        f'goal g{i} "Goal template {i}" {{',
        f"  category: {category}",
        None,  # the duration, once the tasks' schedule is known
        f"  deploy: {deploy}",
        f"  kpi: {kpi}",
        "  playbook enterprise where segment == enterprise {",
    ]
    day = last = 0  # the planned day of the previous task; the latest of all
    for t in range(tasks):
        after = f"  after: t{t - 1}" if t and rng.random() < 0.7 else ""
        if t == tasks - 1:
            lines.append(f'    task t{t} "Check-in with {{{{ account.name }}}}" {{ type: call  every: 14d }}')
        else:
            due = rng.randint(1, 10)
            day = (day if after else 0) + due
            last = max(last, day)
            lines.append(f'    task t{t} "Step {t} of {{{{ goal.title }}}}" {{ type: todo  due: {due}d{after} }}')
    # long enough for every task (W403): the next multiple of 30 days
    lines[2] = f"  duration: {max(duration, -(-last // 30) * 30)}d"
    lines += ["  }", "  playbook default {", '    task welcome "Welcome" { type: email  due: 1d }', "  }", "}"]
    return "\n".join(lines)


def generate(out: Path, alerts: int = 5000, goals: int = 500, tasks: int = 10, files: int = 20, seed: int = 1) -> list[Path]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.play"):
        old.unlink()
    seen: set = set()
    decls = [alert(i, rng, seen) for i in range(alerts)] + [goal(i, rng, tasks) for i in range(goals)]
    paths = [out / "catalog.play"]
    paths[0].write_text(CATALOG)
    files = max(1, min(files, len(decls)))
    per = -(-len(decls) // files)
    for f in range(-(-len(decls) // per) if decls else 0):
        p = out / f"part{f:03}.play"
        p.write_text("\n\n".join(decls[f * per : (f + 1) * per]) + "\n")
        paths.append(p)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--alerts", type=int, default=5000)
    ap.add_argument("--goals", type=int, default=500)
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--files", type=int, default=20)
    a = ap.parse_args()
    paths = generate(a.out, a.alerts, a.goals, a.tasks, a.files)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {size / 1e6:.1f} MB, to {a.out}")


if __name__ == "__main__":
    main()
