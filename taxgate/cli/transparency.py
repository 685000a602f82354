"""Checkpoints for outsiders: publish a signed checkpoint of the ledger's Merkle tree to the
overseer's witness log, hand out inclusion and consistency proofs, and check a witness
log and its proofs offline, with the gateway's public key alone (docs/ledger.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from taxgate.cli._common import StoreOpt, out, run, settings_for, with_gateway
from taxgate.errors import BadInput, IntegrityError
from taxgate.untrusted import for_terminal as shown

WitnessOpt = Annotated[Path | None, typer.Option(
    "--witness", help="The witness log (a file, or a folder holding taxgate-checkpoints.jsonl); "
    "default TAXGATE_WITNESS.")]


def register(ledger_app: typer.Typer) -> None:
    """Add the commands to ``taxgate ledger``."""
    ledger_app.command("checkpoint")(checkpoint)
    ledger_app.command("prove")(prove)
    ledger_app.command("witness-verify")(witness_verify)


def checkpoint(witness: WitnessOpt = None, store: StoreOpt = None) -> None:
    """Sign a checkpoint (tree size, Merkle root, time) of the whole ledger and append it,
    with its consistency proof from the last one, to the overseer's witness log. A ledger
    that does not extend the last witnessed checkpoint publishes nothing (exit 4)."""
    head, added = with_gateway(settings_for(store), lambda gw: gw.checkpoint(witness))
    what = "checkpoint appended" if added else "ledger unchanged since the last checkpoint"
    out.print(f"{what}: size {head.tree_size:,}, root {head.root}, at {shown(head.at)}")


def prove(
    entry: Annotated[int | None, typer.Option(
        "--entry", help="The seq of a ledger entry (a DISCLOSURE) to prove included.")] = None,
    first: Annotated[int | None, typer.Option(
        "--from", help="The size of a witnessed checkpoint to prove a prefix of --to.")] = None,
    size: Annotated[int | None, typer.Option(
        "--to", help="The size of the witnessed checkpoint to prove against (default: the "
        "last one).")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the proof here (default: standard output).")] = None,
    witness: WitnessOpt = None,
    store: StoreOpt = None,
) -> None:
    """Write an inclusion proof of one entry (--entry N), or a consistency proof between
    two witnessed checkpoints (--from M [--to N]), as JSON an overseer checks with
    `taxgate ledger witness-verify --proof FILE`."""
    if (entry is None) == (first is None):
        run(_fail, BadInput("give exactly one of --entry and --from"))
    bundle = with_gateway(settings_for(store), lambda gw: gw.prove(
        entry=entry, first=first, size=size, witness=witness))
    text = json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"
    if out_file is None:
        typer.echo(text, nl=False)
        return
    run(_write, out_file, text)
    out.print(f"proof written to {shown(out_file)}")


def _fail(exc: Exception) -> None:
    raise exc


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path} cannot be written: {exc.strerror}") from None


def witness_verify(
    witness: Annotated[Path, typer.Option(
        "--witness", help="The witness log: the overseer's own copy.")],
    public_key: Annotated[Path, typer.Option(
        "--public-key", help="The gateway's Ed25519 public key (PEM, `taxgate gateway-key`).")],
    proof: Annotated[list[Path] | None, typer.Option(
        "--proof", help="A proof from `taxgate ledger prove` (repeatable).")] = None,
) -> None:
    """Check a witness log offline, with no store: every checkpoint signed by the gateway
    and a consistent extension of the one before it, and each proof against the witnessed
    checkpoints. Exit 4 when anything fails, naming the first failure."""
    run(_witness_verify, witness, public_key, proof or [])


def _witness_verify(path: Path, key_file: Path, proofs: list[Path]) -> None:
    from taxgate import witness
    from taxgate.canonical import load_public_key_pem

    key = load_public_key_pem(_read(key_file))
    try:
        heads = witness.read_log(path)
    except OSError:
        raise BadInput(f"the witness log {path} cannot be read") from None
    report = witness.check_log(heads, key)
    if report.problem is not None:
        raise IntegrityError(f"witness log fails: {report.problem}")
    if report.last is None:
        raise BadInput(f"the witness log {path} holds no checkpoint")
    out.print(f"witness log verified: {report.checkpoints:,} checkpoints, each consistent with "
              f"the one before; last size {report.last.tree_size:,}, root {report.last.root}")
    for p in proofs:
        try:
            bundle = json.loads(_read(p))
        except ValueError:
            raise BadInput(f"{p} is not a proof (JSON)") from None
        problem = witness.check_bundle(bundle, heads)
        if problem is not None:
            raise IntegrityError(f"proof {p.name} fails: {problem}")
        out.print(f"proof {shown(p.name)} verified ({bundle['kind']})")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise BadInput(f"{path} cannot be read") from None
