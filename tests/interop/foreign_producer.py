"""A producer that is not the ledger's own: confluent-kafka (librdkafka under Python) and
FlatBuffers built with the classes `flatc --python` generates from schema/ledger.fbs,
following schema/README.md ("Producers in other languages") and nothing else.

For each of N accounts it publishes an account, an agreement with one line, a designated
contact and a case, and writes the same events as JSON lines for `ledger publish` under
another account prefix: the ledger must answer both alike. It also sends one event with
librdkafka's default partitioner, which the ledger must dead-letter with a reason.
"""
import argparse
import importlib
import json
import sys
import uuid
import zlib
from datetime import datetime, timezone

import flatbuffers
from confluent_kafka import Producer


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2)."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length % 4
    tail = length - rest
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def kafka_partition(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def millis(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp() * 1000)


class Envelopes:
    """Builds Envelope buffers with the generated classes (module ledger.fb)."""

    def __init__(self):
        self.fb = lambda name: importlib.import_module("ledger.fb." + name)

    def build(self, event_type: str, account: str, event_id: uuid.UUID, occurred_at: int, fill) -> bytes:
        b = flatbuffers.Builder(256)
        event = fill(b)
        account_off = b.CreateString(account)
        source_off = b.CreateString("python-interop")
        env = self.fb("Envelope")
        env.EnvelopeStart(b)
        # The Uuid struct: the 16 bytes in the order of the UUID's text form (RFC 4122).
        uuid_mod = self.fb("Uuid")
        env.EnvelopeAddEventId(b, uuid_mod.CreateUuid(b, list(event_id.bytes)))
        env.EnvelopeAddAccountId(b, account_off)
        env.EnvelopeAddOccurredAt(b, occurred_at)  # Unix epoch milliseconds, UTC
        env.EnvelopeAddSource(b, source_off)
        env.EnvelopeAddSchemaVersion(b, 1)
        env.EnvelopeAddEventType(b, getattr(self.fb("Event").Event, event_type))
        env.EnvelopeAddEvent(b, event)
        root = env.EnvelopeEnd(b)
        b.Finish(root, file_identifier=b"LDG1")  # the schema's file_identifier
        return bytes(b.Output())

    def account_opened(self, b, name, region):
        m = self.fb("AccountOpened")
        name_off, region_off = b.CreateString(name), b.CreateString(region)
        m.AccountOpenedStart(b)
        m.AccountOpenedAddName(b, name_off)
        m.AccountOpenedAddRegion(b, region_off)
        return m.AccountOpenedEnd(b)

    def agreement_purchased(self, b, agreement_id, offering, starts_at, ends_at, line_id, product):
        line_mod, m = self.fb("AgreementLine"), self.fb("AgreementPurchased")
        line_id_off, product_off = b.CreateString(line_id), b.CreateString(product)
        line_mod.AgreementLineStart(b)
        line_mod.AgreementLineAddLineId(b, line_id_off)
        line_mod.AgreementLineAddProduct(b, product_off)
        line = line_mod.AgreementLineEnd(b)
        m.AgreementPurchasedStartLinesVector(b, 1)
        b.PrependUOffsetTRelative(line)
        lines = b.EndVector()
        agreement_off = b.CreateString(agreement_id)
        m.AgreementPurchasedStart(b)
        m.AgreementPurchasedAddAgreementId(b, agreement_off)
        m.AgreementPurchasedAddOffering(b, getattr(self.fb("Offering").Offering, offering))
        m.AgreementPurchasedAddStartsAt(b, starts_at)
        m.AgreementPurchasedAddEndsAt(b, ends_at)
        m.AgreementPurchasedAddLines(b, lines)
        return m.AgreementPurchasedEnd(b)

    def contact_designated(self, b, contact_id, name):
        m = self.fb("ContactDesignated")
        contact_off, name_off = b.CreateString(contact_id), b.CreateString(name)
        m.ContactDesignatedStart(b)
        m.ContactDesignatedAddContactId(b, contact_off)
        m.ContactDesignatedAddName(b, name_off)
        return m.ContactDesignatedEnd(b)

    def case_opened(self, b, case_id, contact_id, product, severity):
        m = self.fb("CaseOpened")
        case_off, contact_off, product_off = b.CreateString(case_id), b.CreateString(contact_id), b.CreateString(product)
        m.CaseOpenedStart(b)
        m.CaseOpenedAddCaseId(b, case_off)
        m.CaseOpenedAddContactId(b, contact_off)
        m.CaseOpenedAddProduct(b, product_off)
        m.CaseOpenedAddSeverity(b, severity)
        return m.CaseOpenedEnd(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--gen", required=True, help="the folder flatc --python wrote to")
    ap.add_argument("--prefix", required=True, help="account ids of this producer's events")
    ap.add_argument("--twin-prefix", required=True, help="account ids of the same events as JSON lines")
    ap.add_argument("--json", required=True, help="where to write the JSON lines")
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--partitions", type=int, required=True, help="partitions of ledger.events")
    ap.add_argument("--misrouted", required=True, help="where to write the id of the misrouted account")
    args = ap.parse_args()
    sys.path.insert(0, args.gen)
    envelopes = Envelopes()

    failures = []

    def delivered(err, msg):
        if err is not None:
            failures.append(str(err))

    # The contract: the murmur2 partitioner (Kafka's Java default), idempotent, acks=all.
    producer = Producer({"bootstrap.servers": args.brokers, "partitioner": "murmur2_random",
                         "enable.idempotence": True, "acks": "all"})
    twins = []

    def send(p, event_type, account, occurred, data, fill):
        event_id = uuid.uuid4()
        payload = envelopes.build(event_type, account, event_id, millis(occurred), fill)
        headers = [("ledger.type", event_type), ("ledger.schema_version", "1"), ("ledger.event_id", str(event_id))]
        p.produce("ledger.events", key=account.encode(), value=payload, headers=headers, on_delivery=delivered)
        twin_account = args.twin_prefix + account[len(args.prefix):]
        twins.append({"type": event_type, "event_id": str(uuid.uuid4()), "account_id": twin_account,
                      "occurred_at": occurred, "data": data})

    for i in range(args.accounts):
        a = f"{args.prefix}{i}"
        send(producer, "AccountOpened", a, "2024-12-01", {"name": f"Account {i}", "region": "EMEA"},
             lambda b, i=i: envelopes.account_opened(b, f"Account {i}", "EMEA"))
        ends = "2026-01-01" if i % 2 == 0 else "2025-07-01"
        send(producer, "AgreementPurchased", a, "2024-12-02",
             {"agreement_id": "AG-1", "offering": "EssentialSupport", "starts_at": "2025-01-01",
              "ends_at": ends, "lines": [{"line_id": "L1", "product": "db"}]},
             lambda b, ends=ends: envelopes.agreement_purchased(b, "AG-1", "EssentialSupport", millis("2025-01-01"),
                                                                millis(ends), "L1", "db"))
        send(producer, "ContactDesignated", a, "2024-12-03", {"contact_id": "C1", "name": "Ada"},
             lambda b: envelopes.contact_designated(b, "C1", "Ada"))
        send(producer, "CaseOpened", a, "2025-03-01",
             {"case_id": "K1", "contact_id": "C1", "product": "db", "severity": 2},
             lambda b: envelopes.case_opened(b, "K1", "C1", "db", 2))
    producer.flush(60)

    # librdkafka's default partitioner (consistent_random: CRC32) where it disagrees with
    # murmur2 for the key: the ledger must dead-letter the event, saying what to set.
    n = 0
    while True:
        misrouted = f"{args.prefix}default-{n}"
        if zlib.crc32(misrouted.encode()) % args.partitions != kafka_partition(misrouted, args.partitions):
            break
        n += 1
    default = Producer({"bootstrap.servers": args.brokers})
    payload = envelopes.build("AccountOpened", misrouted, uuid.uuid4(), millis("2024-12-01"),
                              lambda b: envelopes.account_opened(b, "Misrouted", "EMEA"))
    default.produce("ledger.events", key=misrouted.encode(), value=payload,
                    headers=[("ledger.type", "AccountOpened")], on_delivery=delivered)
    default.flush(60)

    if failures:
        sys.exit("not delivered: " + "; ".join(failures[:3]))
    with open(args.json, "w") as out:
        for t in twins:
            out.write(json.dumps(t) + "\n")
    with open(args.misrouted, "w") as out:
        out.write(misrouted + "\n")
    print(f"published {len(twins)} events for {args.accounts} accounts, and {misrouted} with the default partitioner")


if __name__ == "__main__":
    main()
