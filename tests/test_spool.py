"""The spool: one suite for both stores (Telegraf's buffer-suite pattern), then what only the
flash store and the sequence numbers must guarantee."""

import os

import pytest

from zte_uxip.errors import SpoolError
from zte_uxip.spool import (
    FLASH_STATE_FILE,
    HEADER_BYTES,
    SEQ_RESERVE,
    FlashStore,
    MemoryStore,
    Record,
    Spool,
    pack_record,
    unpack_record,
)


@pytest.fixture(params=["ram", "flash"])
def spool(request, tmp_path):
    """A spool whose records land in the store under test."""
    sp = Spool(str(tmp_path / "state"), str(tmp_path / "flash"), max_bytes=4096)
    if request.param == "flash":
        sp.to_flash = True
    return sp


def fill(sp, n, size=100):
    seqs = []
    for _ in range(n):
        seq = sp.next_seq()
        sp.add(Record(seq, bytes([seq % 256]) * size))
        seqs.append(seq)
    return seqs


# ------------------------------------------------------------ shared suite


def test_take_returns_oldest_first_and_marks_in_flight(spool):
    seqs = fill(spool, 5)
    first = spool.take(2)
    assert [r.seq for r in first] == seqs[:2]
    assert [r.seq for r in spool.take(10)] == seqs[2:]
    assert spool.take(10) == []


def test_accept_deletes_reject_returns_in_order(spool):
    seqs = fill(spool, 4)
    batch = spool.take(3)
    spool.accept([batch[0].seq])
    spool.reject([r.seq for r in batch[1:]])
    assert [r.seq for r in spool.records()] == seqs[1:]
    assert [r.seq for r in spool.take(10)] == seqs[1:]


def test_payload_round_trips(spool):
    spool.add(Record(spool.next_seq(), b"\x00\xffpayload"))
    assert spool.take(1)[0].payload == b"\x00\xffpayload"


def test_full_drops_oldest_and_counts(spool):
    size = 1000 - HEADER_BYTES
    seqs = fill(spool, 6, size=size)  # 6000 bytes into a 4096-byte cap
    assert [r.seq for r in spool.records()] == seqs[2:]
    assert spool.dropped_total == 2
    assert spool.bytes_used <= 4096


def test_full_never_drops_a_record_in_flight(spool):
    size = 1000 - HEADER_BYTES
    seqs = fill(spool, 4, size=size)
    spool.take(4)
    fill(spool, 1, size=size)  # no room and everything older is in flight: the new one goes
    assert [r.seq for r in spool.records()] == seqs
    assert spool.dropped_total == 1


def test_oversized_record_is_dropped_and_counted(spool):
    spool.add(Record(spool.next_seq(), b"x" * 5000))
    assert len(spool) == 0 and spool.dropped_total == 1


def test_purge_empties_everything(spool, tmp_path):
    fill(spool, 3)
    spool.take(1)
    assert spool.purge() == 3
    assert spool.records() == [] and spool.take(5) == []
    assert not [n for n in os.listdir(tmp_path / "flash") if n.endswith(".rec")]


def test_seq_increases_and_is_never_reused(spool):
    seqs = fill(spool, 3)
    spool.accept(seqs)
    assert spool.next_seq() > seqs[-1]


# ------------------------------------------------------------ records


def test_record_crc_catches_every_single_bit_flip():
    data = pack_record(Record(7, b"abc"))
    for i in range(len(data) * 8):
        bad = bytearray(data)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(SpoolError):
            unpack_record(bytes(bad))


def test_truncated_record_rejected():
    data = pack_record(Record(7, b"abcdef"))
    for n in range(len(data)):
        with pytest.raises(SpoolError):
            unpack_record(data[:n])


# ------------------------------------------------------------ flash only


def test_flash_records_survive_a_restart(tmp_path):
    sp = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    seqs = fill(sp, 3)
    sp.persist()
    again = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    assert [r.seq for r in again.records()] == seqs
    assert again.next_seq() == seqs[-1] + 1


def test_ram_records_are_not_written_to_flash_until_persist(tmp_path):
    sp = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    fill(sp, 3)
    assert not [n for n in os.listdir(tmp_path / "f") if n.endswith(".rec")]
    sp.persist()
    assert len([n for n in os.listdir(tmp_path / "f") if n.endswith(".rec")]) == 3
    assert sp.ram.records() == []


def test_corrupt_file_is_quarantined_counted_and_skipped(tmp_path):
    sp = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    seqs = fill(sp, 3)
    sp.persist()
    victim = tmp_path / "f" / f"{seqs[1]:016x}.rec"
    victim.write_bytes(victim.read_bytes()[:-2] + b"zz")
    (tmp_path / "f" / f"{99:016x}.rec").write_bytes(b"garbage")
    (tmp_path / "f" / "0000000000000005.rec.tmp").write_bytes(b"half")
    again = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    assert [r.seq for r in again.records()] == [seqs[0], seqs[2]]
    assert again.corrupt_total == 2
    assert sorted(os.listdir(tmp_path / "f" / "quarantine")) == sorted([victim.name, f"{99:016x}.rec"])
    assert not (tmp_path / "f" / "0000000000000005.rec.tmp").exists()
    # a second start finds nothing corrupt: no loop
    assert Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536).corrupt_total == 0


def test_record_whose_name_lies_about_its_seq_is_quarantined(tmp_path):
    os.makedirs(tmp_path / "f")
    (tmp_path / "f" / f"{5:016x}.rec").write_bytes(pack_record(Record(6, b"x")))
    store = FlashStore(str(tmp_path / "f"))
    assert store.records() == [] and store.corrupt_total == 1


def test_seq_after_reboot_continues_past_the_flash_reservation(tmp_path):
    """A power cut loses the RAM state dir; the numbers reserved on flash are skipped, never reused."""
    sp = Spool(str(tmp_path / "s1"), str(tmp_path / "f"), 65536)
    sp.reserve_if_needed()
    used = [sp.next_seq() for _ in range(5)]
    # no clean shutdown; the RAM state dir is gone after the reboot
    after = Spool(str(tmp_path / "s2"), str(tmp_path / "f"), 65536)
    after.reserve_if_needed()
    assert after.next_seq() > max(used)
    # and the reboot after that one again moves past everything handed out
    more = [after.next_seq() for _ in range(3)]
    third = Spool(str(tmp_path / "s3"), str(tmp_path / "f"), 65536)
    third.reserve_if_needed()
    assert third.next_seq() > max(more)


def test_clean_shutdown_keeps_numbering_dense(tmp_path):
    sp = Spool(str(tmp_path / "s1"), str(tmp_path / "f"), 65536)
    sp.reserve_if_needed()
    last = [sp.next_seq() for _ in range(4)][-1]
    sp.shutdown()
    assert (tmp_path / "f" / FLASH_STATE_FILE).read_text().startswith(f"seq={last}\n")
    after = Spool(str(tmp_path / "s2"), str(tmp_path / "f"), 65536)
    after.reserve_if_needed()
    assert after.next_seq() == last + 1
    reserved = int((tmp_path / "f" / FLASH_STATE_FILE).read_text().split("\n")[0].removeprefix("seq="))
    assert reserved >= last + SEQ_RESERVE


def test_agent_restart_without_reboot_uses_ram_state(tmp_path):
    sp = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    sp.reserve_if_needed()
    last = [sp.next_seq() for _ in range(4)][-1]
    again = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    again.reserve_if_needed()
    assert again.next_seq() == last + 1


def test_dropped_total_survives_restart(tmp_path):
    sp = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 4096)
    fill(sp, 6, size=1000 - HEADER_BYTES)
    assert Spool(str(tmp_path / "s"), str(tmp_path / "f"), 4096).dropped_total == 2


def test_unwritable_flash_keeps_record_in_ram(tmp_path, monkeypatch):
    sp = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    sp.to_flash = True

    def enospc(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("zte_uxip.spool._write_atomic", enospc)
    seq = sp.next_seq()
    sp.add(Record(seq, b"data"))
    assert [r.seq for r in sp.ram.records()] == [seq]


def test_memory_store_protocol_alone():
    st = MemoryStore()
    st.add(Record(2, b"b"))
    st.add(Record(1, b"a"))
    assert [r.seq for r in st.records()] == [1, 2]
    st.remove(1)
    st.clear()
    assert st.records() == []


def test_rewrite_keeps_seq_and_order(spool):
    seqs = fill(spool, 3, size=4)
    spool.rewrite(lambda p: b"new" + p)
    assert [(r.seq, r.payload[:3]) for r in spool.records()] == [(s, b"new") for s in seqs]


def test_rewrite_drops_what_cannot_be_rewritten(spool):
    fill(spool, 2, size=4)

    def bad(_p):
        raise ValueError("not a batch")

    spool.rewrite(bad)
    assert spool.records() == [] and spool.dropped_total == 2


def test_garbled_state_files_are_ignored_not_fatal(tmp_path):
    sp = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    sp.reserve_if_needed()
    last = [sp.next_seq() for _ in range(3)][-1]
    (tmp_path / "s" / "spool.state").write_bytes(b"seq=\xff\x00garbage\n")
    again = Spool(str(tmp_path / "s"), str(tmp_path / "f"), 65536)
    again.reserve_if_needed()
    assert again.next_seq() > last  # falls back to the flash reservation
