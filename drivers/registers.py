"""MFRC522 register addresses, command codes and bit masks (NXP MFRC522 datasheet, section 9).

Shared by the protocol driver and the emulator so both speak about the same chip.
"""

from __future__ import annotations

# Page 0: command and status
COMMAND = 0x01
COM_IEN = 0x02
DIV_IEN = 0x03
COM_IRQ = 0x04
DIV_IRQ = 0x05
ERROR = 0x06
STATUS1 = 0x07
STATUS2 = 0x08
FIFO_DATA = 0x09
FIFO_LEVEL = 0x0A
WATER_LEVEL = 0x0B
CONTROL = 0x0C
BIT_FRAMING = 0x0D
COLL = 0x0E
# Page 1: command configuration
MODE = 0x11
TX_MODE = 0x12
RX_MODE = 0x13
TX_CONTROL = 0x14
TX_ASK = 0x15
TX_SEL = 0x16
RX_SEL = 0x17
RX_THRESHOLD = 0x18
DEMOD = 0x19
MF_TX = 0x1C
MF_RX = 0x1D
SERIAL_SPEED = 0x1F
# Page 2: configuration
CRC_RESULT_H = 0x21
CRC_RESULT_L = 0x22
MOD_WIDTH = 0x24
RF_CFG = 0x26
GS_N = 0x27
CW_GS_P = 0x28
MOD_GS_P = 0x29
T_MODE = 0x2A
T_PRESCALER = 0x2B
T_RELOAD_H = 0x2C
T_RELOAD_L = 0x2D
T_COUNTER_H = 0x2E
T_COUNTER_L = 0x2F
# Page 3: test
TEST_SEL1 = 0x31
TEST_SEL2 = 0x32
TEST_PIN_EN = 0x33
TEST_PIN_VALUE = 0x34
TEST_BUS = 0x35
AUTO_TEST = 0x36
VERSION = 0x37
ANALOG_TEST = 0x38
TEST_DAC1 = 0x39
TEST_DAC2 = 0x3A
TEST_ADC = 0x3B

# CommandReg command codes
CMD_IDLE = 0x0
CMD_MEM = 0x1
CMD_GENERATE_RANDOM_ID = 0x2
CMD_CALC_CRC = 0x3
CMD_TRANSMIT = 0x4
CMD_NO_CHANGE = 0x7
CMD_RECEIVE = 0x8
CMD_TRANSCEIVE = 0xC
CMD_MF_AUTHENT = 0xE
CMD_SOFT_RESET = 0xF
COMMAND_POWER_DOWN = 0x10

# ComIrqReg bits (bit 7 of a write is Set1: 1 sets the written bits, 0 clears them)
IRQ_SET1 = 0x80
IRQ_TX = 0x40
IRQ_RX = 0x20
IRQ_IDLE = 0x10
IRQ_HI_ALERT = 0x08
IRQ_LO_ALERT = 0x04
IRQ_ERR = 0x02
IRQ_TIMER = 0x01
IRQ_ALL = 0x7F
# DivIrqReg bits
DIV_IRQ_MFIN_ACT = 0x10
DIV_IRQ_CRC = 0x04

# ErrorReg bits
ERR_WR = 0x80
ERR_TEMP = 0x40
ERR_BUFFER_OVFL = 0x10
ERR_COLL = 0x08
ERR_CRC = 0x04
ERR_PARITY = 0x02
ERR_PROTOCOL = 0x01

STATUS2_CRYPTO1_ON = 0x08
FIFO_FLUSH = 0x80
CONTROL_TSTOP_NOW = 0x80
CONTROL_TSTART_NOW = 0x40
BIT_FRAMING_START_SEND = 0x80
COLL_VALUES_AFTER_COLL = 0x80
COLL_POS_NOT_VALID = 0x20
T_MODE_TAUTO = 0x80
TX_CONTROL_ANTENNA = 0x03
TX_ASK_FORCE_100ASK = 0x40
AUTO_TEST_SELF_TEST = 0x09  # AutoTestReg SelfTest[3:0] = 1001b enables the digital self-test
AUTO_TEST_RESET = 0x40  # AmpRcv set, self-test off: the register's reset value
TX_MODE_CRC_EN = 0x80  # TxModeReg TxCRCEn: the chip appends CRC_A to every frame it sends
RX_MODE_CRC_EN = 0x80  # RxModeReg RxCRCEn: the chip checks CRC_A of every frame it receives

FIFO_SIZE = 64

# VersionReg values and the chips they name: drivers/chips.py (one table for driver and doctor)

# SerialSpeedReg values for the UART interface (datasheet table 10)
SERIAL_SPEEDS = {
    7200: 0xFA,
    9600: 0xEB,
    14400: 0xDA,
    19200: 0xCB,
    38400: 0xAB,
    57600: 0x9A,
    115200: 0x7A,
    128000: 0x74,
    230400: 0x5A,
    460800: 0x3A,
    921600: 0x1C,
    1228800: 0x15,
}
BAUD_BY_SERIAL_SPEED = {value: baud for baud, value in SERIAL_SPEEDS.items()}

CARRIER_HZ = 13_560_000
