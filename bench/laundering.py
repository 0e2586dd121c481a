"""A laundering network with ordinary economic life around it, generated from a seed and played on anvil.

``generate(Params)`` is pure: it returns every token transfer (hour, sender, receiver, amount) and the true role of
every address; ``play`` sends them to a local anvil node as the test token (6 decimals, priced at 1 USD), one block
per hour of the scenario, so block times carry the scenario's timing (dwell times are real). ``make eval`` and the
typology tests use it with different seeds.

Who is in it (the parameters say how many of each; ``Params`` documents each one):

- **Ordinary** accounts, the population a bank must not bother: *employers* pay non-round salaries twice a month to
  *employees*, who pay rent to *landlords*, shop at *shops*, send round amounts to friends and deposit some at the
  licensed exchange; *shops* sweep their takings to the licensed exchange weekly (a share of them daily); *exchange
  users* withdraw from the licensed exchange and spend; *victims* buy crypto at the licensed exchange and pay it to
  a mop (a scam told them to).
- **The licensed exchange**: one hot wallet, registered as a licensed entity (taint stops there, it is never a
  candidate); deposits and withdrawals of everyone.
- **Criminal** addresses: *sources* (a scam's or a hack's wallets) holding criminal money; *mops* (front men)
  receiving from several victims and sources, some also from an employer (mixed funds), passing it on within
  hours to a *shadow exchanger* (most), to the licensed exchange, or to a *second-layer mop*; *peel chains*, where a
  source's large amount walks through fresh wallets each passing on 80-92 % and peeling the rest to an exchanger;
  *structurers*, who receive a large amount and cash it out in chunks just under the 1,000 USD (500,000 tenge)
  threshold; *shadow exchangers*, who collect and convert at the licensed exchange in bulk.

The truth per typology: ``mop_passthrough`` = every mop (both layers); ``exchanger_cashout`` = the mops whose
money goes to a shadow exchanger; ``peel_chain`` = the peel hops that peel; ``structuring`` = the structurers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode

UNIT = 10**6  # the test token's 6 decimals
HOUR = 3600
ORDINARY = ("employer", "employee", "landlord", "shop", "online_seller", "organiser", "exchange_user", "victim")
MOPS = ("mop", "mop2")


@dataclass(frozen=True)
class Params:
    """The generator's knobs. Counts are addresses; the scenario lasts ``days`` days, one block per hour."""

    seed: int = 2026
    days: int = 21
    employers: int = 5  # pay salaries on days 1 and 15 to their employees
    employees: int = 120  # salary -> rent, shops, friends, exchange deposits; keep some
    landlords: int = 12  # rent from a few tenants; keep most of it
    shops: int = 15  # many small payments; sweep to the licensed exchange
    daily_sweep_share: float = 0.3  # of shops sweeping every day (the hard case: fast, concentrated outflow)
    exchange_users: int = 60  # withdraw from the licensed exchange, spend
    victims: int = 220  # buy crypto at the exchange and pay a mop once (some twice)
    sources: int = 6  # criminal wallets (scam, hack) holding criminal money
    mops: int = 40  # first-layer front men
    mop_senders: tuple[int, int] = (5, 12)  # victims paying each mop (distinct)
    mixed_share: float = 0.3  # of mops that also get a salary (mixed funds)
    second_layer: int = 6  # mops receiving from first-layer mops (layering)
    to_exchanger_share: float = 0.65  # of first-layer mops cashing out at a shadow exchanger
    to_licensed_share: float = 0.2  # of first-layer mops cashing out at the licensed exchange (rest: second layer)
    exchangers: int = 2  # shadow (unlicensed) exchangers
    peel_chains: int = 4
    peel_length: int = 6  # wallets per chain (the last one does not peel)
    structurers: int = 6
    wide_structuring_share: float = 0.3  # of structurers using chunks of 600-995 USD (most no longer "just under")
    messy_peel_share: float = 0.25  # of peel chains whose hops peel to three addresses (not a clean peel)
    slow_mop_share: float = 0.15  # of mops holding the money 2-5 days before passing it on (cautious mops)
    spread_mop_share: float = 0.1  # of mops splitting their outflow over three destinations
    online_sellers: int = 4  # ordinary: many one-off buyers, takings swept to the exchange daily (mop-like)
    organisers: int = 4  # ordinary: collect round amounts from friends once, pay one shop within a day (mop-like)


@dataclass(frozen=True)
class Transfer:
    hour: int
    src: str
    dst: str
    amount: int  # base units (6 decimals)


@dataclass
class Scenario:
    params: Params
    transfers: list[Transfer]
    roles: dict[str, str]  # address -> role
    truth: dict[str, set[str]]  # typology -> addresses
    licensed_exchange: str
    treasury: str
    exchanger_addresses: list[str] = field(default_factory=list)
    source_addresses: list[str] = field(default_factory=list)

    def of(self, *roles: str) -> set[str]:
        return {a for a, r in self.roles.items() if r in roles}

    @property
    def ordinary(self) -> set[str]:
        return self.of(*ORDINARY)


class _Gen:
    def __init__(self, p: Params, treasury: str) -> None:
        self.p = p
        self.rng = random.Random(p.seed)
        self.treasury = treasury
        self.out: list[Transfer] = []
        self.inflow: dict[str, list[tuple[int, int]]] = defaultdict(list)  # address -> [(hour, amount)]
        self.roles: dict[str, str] = {}
        self.salary_in: dict[str, set[tuple[int, int]]] = defaultdict(set)  # legitimate inflows of mixed mops

    def addr(self, role: str) -> str:
        a = "0x" + self.rng.randbytes(20).hex()
        self.roles[a] = role
        return a

    def send(self, hour: int, src: str, dst: str, usd: float) -> int:
        return self.send_units(hour, src, dst, int(round(usd * UNIT)))

    def send_units(self, hour: int, src: str, dst: str, amount: int) -> int:
        if amount <= 0:
            return 0
        self.out.append(Transfer(hour, src, dst, amount))
        self.inflow[dst].append((hour, amount))
        return amount

    def money(self, lo: float, hi: float) -> float:
        """A non-round amount: cents included."""
        return round(self.rng.uniform(lo, hi), 2)

    def hours(self) -> int:
        return self.p.days * 24


def generate(p: Params, treasury: str = "0x" + "77" * 20) -> Scenario:
    """Every transfer of the scenario, in no particular order (``play`` sorts by hour), and who is who."""
    g = _Gen(p, treasury)
    rng = g.rng
    end = g.hours() - 2
    exchange = g.addr("licensed_exchange")
    g.send(0, treasury, exchange, 5_000_000)
    employers = [g.addr("employer") for _ in range(p.employers)]
    employees = [g.addr("employee") for _ in range(p.employees)]
    landlords = [g.addr("landlord") for _ in range(p.landlords)]
    shops = [g.addr("shop") for _ in range(p.shops)]
    users = [g.addr("exchange_user") for _ in range(p.exchange_users)]
    victims = [g.addr("victim") for _ in range(p.victims)]
    sources = [g.addr("source") for _ in range(p.sources)]
    exchangers = [g.addr("exchanger") for _ in range(p.exchangers)]
    mops = [g.addr("mop") for _ in range(p.mops)]
    mops2 = [g.addr("mop2") for _ in range(p.second_layer)]
    for e in employers:
        g.send(0, treasury, e, 400_000)
    for s in sources:
        g.send(0, treasury, s, 400_000)

    # Ordinary life: salaries on days 1 and 15, spent over the next two weeks; some kept.
    tenants: dict[str, str] = {e: rng.choice(landlords) for e in employees}
    favourite = {e: rng.sample(shops, min(3, len(shops))) for e in employees}  # people shop where they live
    salary_of = {e: g.money(600, 3200) for e in employees}
    payroll: list[tuple[str, str]] = [(rng.choice(employers), e) for e in employees]
    mixed = rng.sample(mops, int(len(mops) * p.mixed_share))
    payroll += [(rng.choice(employers), m) for m in mixed]
    salary_of.update({m: g.money(300, 900) for m in mixed})
    for day in (1, 15):
        if day * 24 >= end:
            continue
        for employer, worker in payroll:
            h = day * 24 + rng.randint(8, 11)
            paid = g.send(h, employer, worker, salary_of[worker] + rng.choice((0, 0, g.money(0, 50))))
            if worker in mixed:
                g.salary_in[worker].add((h, paid))  # a mop's legitimate life is small: a couple of shop payments
                for _ in range(2):
                    g.send(min(h + rng.randint(20, 200), end), worker, rng.choice(shops), g.money(5, 40))
                continue
            _spend_salary(g, worker, h, salary_of[worker], tenant_of=tenants, shops=favourite[worker],
                          friends=employees, exchange=exchange, end=end)  # fmt: skip

    # Exchange users: withdraw, spend at shops and friends, deposit some back.
    for u in users:
        for _ in range(rng.randint(1, 3)):
            h = rng.randint(2, end - 150)
            amount = g.money(100, 2500)
            g.send(h, exchange, u, amount)
            budget = amount * rng.uniform(0.4, 0.9)
            for _ in range(rng.randint(1, 4)):
                part = round(budget * rng.uniform(0.1, 0.35), 2)
                g.send(h + rng.randint(6, 140), u, rng.choice(shops + employees), part)
                budget -= part

    # Victims buy crypto at the exchange and pay a mop (a few pay twice); the mops they pay are drawn so that each
    # first-layer mop gets its share of distinct victims.
    victim_pool = list(victims)
    rng.shuffle(victim_pool)
    payers: dict[str, list[str]] = {m: [] for m in mops}
    for m in mops:
        k = rng.randint(*p.mop_senders)
        for _ in range(k):
            if not victim_pool:
                victim_pool = list(victims)
                rng.shuffle(victim_pool)
            payers[m].append(victim_pool.pop())
    victim_hours = range(20, end - 100)
    for m, vs in payers.items():
        for v in vs:
            h = rng.choice(victim_hours)
            bought = g.send(h, exchange, v, g.money(250, 3000))
            g.send_units(h + rng.randint(1, 6), v, m, bought)
            if rng.random() < 0.15:  # pays again, a "fee" to release the promised gains
                fee = g.send_units(h + 30, exchange, v, int(bought * 0.3))
                g.send_units(h + 32, v, m, fee)
    # Sources top mops up with criminal money (the listed-or-not sources of the scenario).
    for m in mops:
        for _ in range(rng.randint(0, 2)):
            g.send(rng.choice(victim_hours), rng.choice(sources), m, g.money(400, 3000))

    # First-layer mops pass everything on within hours, after every receipt or two.
    cashout: dict[str, str] = {}
    n_exch = round(len(mops) * p.to_exchanger_share)
    n_lic = round(len(mops) * p.to_licensed_share)
    for i, m in enumerate(mops):
        cashout[m] = rng.choice(exchangers) if i < n_exch else exchange if i < n_exch + n_lic else rng.choice(mops2)
    truth_cashout = {m for m, d in cashout.items() if d in exchangers}
    for idle in set(mops2) - set(cashout.values()):  # a second-layer wallet no mop used: not in the scenario
        mops2.remove(idle)
        del g.roles[idle]
    last = g.hours() - 1
    slow = set(rng.sample(mops, round(len(mops) * p.slow_mop_share)))
    spread = set(rng.sample(mops, round(len(mops) * p.spread_mop_share)))
    for m in mops:
        if m in spread:
            to = [cashout[m], exchange, rng.choice(exchangers)]
            _pass_on(g, m, to, keep=(0.0, 0.03), delay=(1, 18), last=last)
            continue
        _pass_on(g, m, [cashout[m]], keep=(0.0, 0.03), delay=(48, 120) if m in slow else (1, 18), last=last)
    for m in mops2:
        truth_cashout.add(m)
        _pass_on(g, m, [rng.choice(exchangers)], keep=(0.0, 0.02), delay=(1, 12), last=last)

    # Peel chains: a source's large amount through fresh wallets, each peeling 8-20 % to an exchanger.
    peel_truth: set[str] = set()
    messy = round(p.peel_chains * p.messy_peel_share)
    for c in range(p.peel_chains):
        chain = [g.addr("peel") for _ in range(p.peel_length)]
        h = rng.randint(24, end - 24 - 6 * p.peel_length)
        amount = g.send(h, rng.choice(sources), chain[0], g.money(20_000, 60_000))
        for i, hop in enumerate(chain):
            h += rng.randint(1, 5)
            if i == len(chain) - 1:
                g.send_units(h, hop, rng.choice(exchangers), amount)
                break
            peel = int(amount * rng.uniform(0.08, 0.2))
            if c < messy:  # the peel split over three cash-out addresses: the hop has four receivers
                for to in (exchange, *rng.sample(exchangers * 2, 2)):
                    g.send_units(h, hop, to, peel // 3)
                peel = (peel // 3) * 3
            else:
                g.send_units(h, hop, rng.choice([*exchangers, exchange]), peel)
            g.send_units(h, hop, chain[i + 1], amount - peel)
            peel_truth.add(hop)
            amount -= peel
        for hop in chain:
            g.roles[hop] = "peel" if hop in peel_truth else "peel_end"

    # Structurers: a large amount in, out in chunks just under 1,000 USD within a day or two.
    structurers = [g.addr("structurer") for _ in range(p.structurers)]
    wide = set(rng.sample(structurers, round(len(structurers) * p.wide_structuring_share)))
    for s in structurers:
        lo = 600 if s in wide else 905
        h = rng.randint(24, end - 72)
        left = g.send(h, rng.choice(sources), s, g.money(8_000, 20_000))
        while left > 1000 * UNIT:
            h += rng.randint(1, 3)
            left -= g.send(h, s, rng.choice([*exchangers, exchange]), g.money(lo, 995))

    # Online sellers: one-off buyers, takings swept to the exchange every day. Organisers: a collection among
    # friends (round amounts, once each), paid on to one shop within a day. Both ordinary; both look like mops.
    buyers = users + employees
    sellers = [g.addr("online_seller") for _ in range(p.online_sellers)]
    for s in sellers:
        for b in rng.sample(buyers, min(len(buyers), rng.randint(8, 25))):
            _buy(g, b, s, rng.randint(30, end - 40), g.money(20, 300), exchange)
        _sweep(g, s, exchange, every=24, start=30, end=end, keep=0.0)
    for o in (g.addr("organiser") for _ in range(p.organisers)):
        h = rng.randint(48, end - 60)
        friends = rng.sample(employees, min(len(employees), rng.randint(6, 10)))
        each = float(rng.choice((50, 100, 150)))
        for f in friends:
            _buy(g, f, o, h + rng.randint(0, 10), each, exchange)
        g.send_units(h + rng.randint(14, 30), o, rng.choice(shops), sum(a for _, a in g.inflow[o]))

    # Shadow exchangers convert at the licensed exchange in bulk, every two days.
    for x in exchangers:
        _sweep(g, x, exchange, every=48, start=48, end=end, keep=0.1)
    # Shops sweep their takings: weekly, or (a share of them) daily.
    daily = set(rng.sample(shops, int(len(shops) * p.daily_sweep_share)))
    for s in shops:
        _sweep(g, s, exchange, every=24 if s in daily else 168, start=30, end=end, keep=0.0)
    # Landlords keep most, pay a mortgage once.
    for ll in landlords:
        got = sum(a for h, a in g.inflow[ll] if h < end - 30) / UNIT
        if got > 0:
            g.send(end - 20, ll, exchange, round(got * 0.4, 2))

    truth = {
        "mop_passthrough": set(mops) | set(mops2),
        "exchanger_cashout": truth_cashout,
        "peel_chain": peel_truth,
        "structuring": set(structurers),
    }
    _check_balances(g.out, treasury, exchange)
    return Scenario(p, g.out, g.roles, truth, exchange, treasury, exchangers, sources)


def _spend_salary(
    g: _Gen,
    who: str,
    h: int,
    salary: float,
    *,
    tenant_of: dict[str, str],
    shops: list[str],
    friends: list[str],
    exchange: str,
    end: int,
) -> None:
    """Rent within days, shops over two weeks, maybe a friend and an exchange deposit; 5-30 % kept."""
    rng = g.rng
    budget = salary * rng.uniform(0.7, 0.95)
    rent = round(salary * rng.uniform(0.25, 0.4), 2)
    g.send(min(h + rng.randint(12, 96), end), who, tenant_of[who], rent)
    budget -= rent
    if rng.random() < 0.3:
        gift = float(rng.choice((50, 100, 200)))
        if gift < budget:
            g.send(min(h + rng.randint(24, 200), end), who, rng.choice(friends), gift)
            budget -= gift
    if rng.random() < 0.4:
        dep = round(budget * rng.uniform(0.2, 0.4), 2)
        g.send(min(h + rng.randint(48, 300), end), who, exchange, dep)
        budget -= dep
    for _ in range(rng.randint(3, 8)):
        part = round(min(budget, salary * rng.uniform(0.02, 0.1)), 2)
        if part <= 1:
            break
        g.send(min(h + rng.randint(6, 330), end), who, rng.choice(shops), part)
        budget -= part


def _pass_on(
    g: _Gen, who: str, dest: list[str], *, keep: tuple[float, float], delay: tuple[int, int], last: int
) -> None:
    """Some hours after money arrives, pass on everything that arrived by then (less a sliver kept). A mixed mop's
    salary is not passed on: it pays the mop's own life."""
    rng = g.rng
    arrived = sorted(x for x in g.inflow[who] if x not in g.salary_in[who])
    i, pending = 0, 0
    while i < len(arrived):
        when = min(arrived[i][0] + rng.randint(*delay), last)
        j = i
        while j < len(arrived) and arrived[j][0] < when:
            pending += arrived[j][1]
            j += 1
        if j == i:  # arrived in the last hour: stays
            break
        out = int(pending * (1 - rng.uniform(*keep)))
        for k, to in enumerate(dest):  # several destinations: equal parts, the last takes the rest
            part = out // len(dest) if k < len(dest) - 1 else out - (out // len(dest)) * (len(dest) - 1)
            g.send_units(when, who, to, part)
        pending -= out
        i = j


def _sweep(g: _Gen, who: str, to: str, *, every: int, start: int, end: int, keep: float) -> None:
    """Every ``every`` hours, send on everything received before (less ``keep``)."""
    swept = 0
    for h in range(start, end, every):
        got = sum(a for t, a in g.inflow[who] if t < h) - swept
        out = int(got * (1 - keep))
        if out > UNIT:
            swept += g.send_units(h, who, to, out)


def _buy(g: _Gen, buyer: str, seller: str, hour: int, usd: float, exchange: str) -> None:
    """The buyer pays; topped up from the exchange first, so an ordinary buyer never overspends its salary."""
    units = g.send(hour - 1, exchange, buyer, usd)
    g.send_units(hour, buyer, seller, units)


def _check_balances(transfers: list[Transfer], *funded: str) -> None:
    """Every sender can pay every transfer from what arrived in earlier hours (a block per hour): the chain
    would revert it otherwise, and the truth would not be what was played."""
    bal: dict[str, int] = defaultdict(int)
    by_hour: dict[int, list[Transfer]] = defaultdict(list)
    for t in transfers:
        by_hour[t.hour].append(t)
    for hour in sorted(by_hour):
        start = dict(bal)
        spent: dict[str, int] = defaultdict(int)
        for t in by_hour[hour]:
            spent[t.src] += t.amount
            if t.src not in funded and spent[t.src] > start.get(t.src, 0):
                raise AssertionError(f"{t.src} overspends at hour {hour}: {spent[t.src]} > {start.get(t.src, 0)}")
        for t in by_hour[hour]:
            bal[t.src] -= t.amount
            bal[t.dst] += t.amount


# Playing it on anvil ---------------------------------------------------------------------------------------------

TRANSFER_SELECTOR = "a9059cbb"
PER_BLOCK = 250  # token transfers per block (~50k gas each within the 30M block gas limit)


def play(node: Any, token: str, scenario: Scenario, progress: Callable[[int, int], None] | None = None) -> int:
    """Send every transfer as the test token, one block per scenario hour (at that hour's timestamp); returns the
    number of transfers sent. Any address can send (anvil impersonates it) and gas costs nothing (base fee 0,
    gas price 0), so no account needs ether."""
    treasury = node.accounts[0].lower()
    if scenario.treasury != treasury:
        raise ValueError("generate the scenario with treasury=node.accounts[0]")
    node.rpc("anvil_autoImpersonateAccount", [True])
    node.rpc("evm_setAutomine", [False])
    nonces: dict[str, int] = defaultdict(int)
    nonces[treasury] = node.nonce(treasury)
    head = node.rpc("eth_getBlockByNumber", ["latest", False])
    base = int(head["timestamp"], 16) + HOUR
    by_hour: dict[int, list[Transfer]] = defaultdict(list)
    for t in scenario.transfers:
        by_hour[t.hour].append(t)
    hours = sorted(by_hour)
    sent = 0
    try:
        for i, hour in enumerate(hours):
            batch = by_hour[hour]
            for part in range(0, len(batch), PER_BLOCK):
                calls = []
                for t in batch[part : part + PER_BLOCK]:
                    data = "0x" + TRANSFER_SELECTOR + encode(["address", "uint256"], [t.dst, t.amount]).hex()
                    tx = {"from": t.src, "to": token, "data": data, "gas": hex(90_000), "gasPrice": "0x0"}
                    tx["nonce"] = hex(nonces[t.src])
                    nonces[t.src] += 1
                    calls.append(("eth_sendTransaction", [tx]))
                node.batch(calls)
                node.rpc("evm_setNextBlockTimestamp", [base + hour * HOUR + part // PER_BLOCK])
                node.rpc("evm_mine", [])
                sent += len(calls)
            if progress is not None:
                progress(i + 1, len(hours))
    finally:
        node.rpc("evm_setAutomine", [True])
    return sent
