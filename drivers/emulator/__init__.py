"""Register-level MFRC522 emulator with a field of MIFARE Classic 1K and NTAG/Ultralight cards.

Public API (used by other engineers' tests and by the simulation)::

    from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K, Ntag213, Ultralight
    from drivers.transport.emulator import EmulatorTransport

    field = Field()
    chip = MFRC522Emulator(field, version=0x92)      # any drivers.chips.VERSIONS value or other; 0x00/0xFF dead bus
    MFRC522Emulator(field, version=0x92, self_test=fake_64_bytes)  # a counterfeit failing the self-test
    transport = EmulatorTransport(chip)              # a RegisterTransport for drivers.mfrc522.Mfrc522

    card = MifareClassic1K(bytes.fromhex("04a1b2c3"))     # transport state: keys FF.., access FF0780
    card7 = MifareClassic1K(bytes.fromhex("04112233445566"))  # 7-byte UID: two cascade levels
    clone = MifareClassic1K.magic(card.uid)               # block 0 writable
    card.block(4); card.set_block(4, bytes(16))            # backdoor access, no RF involved
    tag = Ntag213(bytes.fromhex("04112233445566"))         # 7-byte UID; tag.page(n) / tag.set_page(n, data)
                                                           # also Ntag215, Ntag216 (USER_PAGES: user memory)

    field.present(card); field.remove(card)
    field.remove_after_frames(card, n, answer_last=True)   # leaves after n more reader frames
    card.frames_received                                   # count frames of an operation, then tear at each k
    field.corrupt_next_frames(1, kind="crc")               # or kind="parity"
    field.delay_next_answers(1, 0.002)                     # an answer that starts after the timer fired
    chip.rf_noise(b"\x5a")                                 # noise the listening receiver takes for a frame
    chip.overlapped_commands, chip.wr_errors               # host mistakes a real chip does not report
    chip.hang("rf")                                        # "rf": soft reset cures; "bus": reset pin; "dead": nothing
    chip.set_reset_pin(False)                              # NRSTPD low: every register reads 0x00
    chip.set_reset_pin(True)                               # rising: reads 0x00 for timing.wake_up_s more
    chip.hard_reset()                                      # both, hard_reset_s apart
    chip.glitch()                                          # brown-out: registers to reset values, not VersionReg
    chip.model_time_s                                      # modelled time: SPI traffic, RF frames, card answers
    chip.advance(seconds)                                  # let modelled time pass
    clock = ModelClock(chip)                               # Clock (monotonic/now) in modelled time

Access conditions helpers: `drivers.emulator.cards.access.encode(...)`, `cards.classic.trailer(...)`,
`cards.classic.value_block(value, address)`.
"""

from drivers.emulator.cards import MifareClassic1K, Ntag213, Ntag215, Ntag216, Ultralight
from drivers.emulator.cards.classic import trailer, value_block
from drivers.emulator.chip import MFRC522Emulator
from drivers.emulator.field import Field
from drivers.emulator.model_clock import ModelClock
from drivers.emulator.timing import TimingModel

__all__ = [
    "Field",
    "MFRC522Emulator",
    "MifareClassic1K",
    "ModelClock",
    "Ntag213",
    "Ntag215",
    "Ntag216",
    "TimingModel",
    "Ultralight",
    "trailer",
    "value_block",
]
