"""Register-level MFRC522 emulator with a field of MIFARE Classic 1K and NTAG/Ultralight cards.

Public API (used by other engineers' tests and by the simulation)::

    from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K, Ntag213, Ultralight
    from drivers.transport.emulator import EmulatorTransport

    field = Field()
    chip = MFRC522Emulator(field, version=0x92)      # 0x91, 0x88 clone, 0x12 counterfeit, 0x00/0xFF dead bus
    transport = EmulatorTransport(chip)              # a RegisterTransport for drivers.mfrc522.Mfrc522

    card = MifareClassic1K(bytes.fromhex("04a1b2c3"))     # transport state: keys FF.., access FF0780
    clone = MifareClassic1K.magic(card.uid)               # block 0 writable
    card.block(4); card.set_block(4, bytes(16))            # backdoor access, no RF involved
    tag = Ntag213(bytes.fromhex("04112233445566"))         # 7-byte UID; tag.page(n) / tag.set_page(n, data)

    field.present(card); field.remove(card)
    field.remove_after_frames(card, n, answer_last=True)   # leaves after n more reader frames
    card.frames_received                                   # count frames of an operation, then tear at each k
    field.corrupt_next_frames(1, kind="crc")               # or kind="parity"
    chip.hang("rf")                                        # "rf": soft reset cures; "bus": reset pin; "dead": nothing
    chip.model_time_s                                      # modelled time: SPI traffic, RF frames, card answers
    chip.advance(seconds)                                  # let modelled time pass
    clock = ModelClock(chip)                               # Clock (monotonic/now) in modelled time

Access conditions helpers: `drivers.emulator.cards.access.encode(...)`, `cards.classic.trailer(...)`,
`cards.classic.value_block(value, address)`.
"""

from drivers.emulator.cards import MifareClassic1K, Ntag213, Ultralight
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
    "TimingModel",
    "Ultralight",
    "trailer",
    "value_block",
]
