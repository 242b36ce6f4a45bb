"""bench.callgrind reads the two figures bench.kiosk takes from a callgrind dump: the instruction
total and how often one C function was called (names are compressed after their first use)."""

from __future__ import annotations

from bench.callgrind import calls_to, command_prefix, total_instructions

DUMP = """# callgrind format
version: 1
events: Ir
summary: 1234567

fl=(1) /src/loop.c
fn=(1) main_loop
16 10
cfl=(2) /src/sdl.c
cfn=(2) SDL_UpdateWindowSurface
calls=30 0
16 9000
cfn=(3) SDL_UpperBlit
calls=60 0
17 400
fn=(4) other
cfn=(2)
calls=12 0
20 300
fn=(2)
5 100

totals: 1234567
"""


def test_the_total_is_the_dumps_totals_line():
    assert total_instructions(DUMP) == 1_234_567


def test_calls_are_summed_over_every_caller_with_compressed_names():
    assert calls_to(DUMP, "SDL_UpdateWindowSurface") == 42
    assert calls_to(DUMP, "SDL_UpperBlit") == 60
    assert calls_to(DUMP, "not_called") == 0


def test_the_process_starts_with_instrumentation_off(tmp_path):
    prefix = command_prefix(tmp_path / "out")
    assert prefix[0] == "valgrind" and "--tool=callgrind" in prefix and "--instr-atstart=no" in prefix
