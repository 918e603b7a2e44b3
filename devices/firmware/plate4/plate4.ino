/*
 * plate4: two 4-load-cell force plates on two ADS1256 24-bit ADCs, 1000 Hz, speaking
 * forceplate wire protocol v1 in binary mode (devices/PROTOCOL.md), profile
 * dual-plate-ads1256: 8 channels of int32 counts.
 *
 * Wiring (see also ../README.md)
 *   Board: an Arduino with native USB (a UART at 115200 baud cannot carry 44 kB/s).
 *     3.3 V boards (Zero, MKR, Teensy, RP2040) match the ADS1256 modules' 3.3 V logic;
 *     a 5 V Leonardo/Micro works (ADS1256 inputs are 5 V tolerant, its 3.3 V DOUT is just
 *     above the AVR's 3.0 V high threshold) but its 1 MHz SPI falls short of 1000 Hz:
 *     ticks it cannot keep are skipped and show up on the host as gaps, never as a
 *     slower clock.
 *   One ADS1256 module per plate; its 8 inputs make the 4 differential pairs a bridge
 *   needs. Both modules share the SPI bus:
 *     module   SCLK  DIN   DOUT  CS                DRDY               PDWN/RESET/SYNC
 *     left     SCK   MOSI  MISO  PIN_CS_LEFT (10)  PIN_DRDY_LEFT (7)  to the module's 3.3 V
 *     right    SCK   MOSI  MISO  PIN_CS_RIGHT (9)  PIN_DRDY_RIGHT (6) to the module's 3.3 V
 *   Load cells (channel order of the profile), each cell's signal pair on one ADC pair:
 *     left ADC   AIN0/AIN1 rear lateral   AIN2/AIN3 rear medial
 *                AIN4/AIN5 front medial   AIN6/AIN7 front lateral
 *     right ADC  AIN0/AIN1 rear medial    AIN2/AIN3 rear lateral
 *                AIN4/AIN5 front lateral  AIN6/AIN7 front medial
 *     S+ to the even input, S- to the odd one; E+ to the module's 5 V (AVDD), E- to AGND.
 *     Twisted pairs, and the cells' shield to AGND at the module end only.
 *
 * Timing: each tick (1000 us at 1000 Hz) restarts both ADCs on cell 0 (SYNC+WAKEUP),
 * then steps the multiplexer through the four pairs at 30 kSPS, about 0.21 ms per
 * settled conversion (datasheet, "cycling the input multiplexer"). t_device is micros()
 * at the restart, counted from START; the four cells of a sample are converted within
 * ~0.9 ms of it, immaterial at squat frequencies.
 */

#include <SPI.h>

#include <forceplate_protocol.h>

// Change per unit: the host finds the calibration record by this serial.
#define DEVICE_SERIAL "FP-ADS-0001"
#define FIRMWARE_VERSION "1.0.0"

const uint8_t PIN_CS_LEFT = 10;
const uint8_t PIN_DRDY_LEFT = 7;
const uint8_t PIN_CS_RIGHT = 9;
const uint8_t PIN_DRDY_RIGHT = 6;

const uint8_t N_ADCS = 2;
const uint8_t CELLS_PER_ADC = 4;
const uint8_t N_CHANNELS = N_ADCS * CELLS_PER_ADC;
const uint8_t CS_PINS[N_ADCS] = {PIN_CS_LEFT, PIN_CS_RIGHT};
const uint8_t DRDY_PINS[N_ADCS] = {PIN_DRDY_LEFT, PIN_DRDY_RIGHT};
// MUX register values: positive input in the high nibble, negative in the low one.
const uint8_t CELL_MUX[CELLS_PER_ADC] = {0x01, 0x23, 0x45, 0x67};

const uint32_t MAX_RATE_HZ = 1000;
const uint16_t TARE_SAMPLES = 128;  // 128 x 24-bit sums stay inside an int32
const uint16_t DRDY_TIMEOUT_US = 5000;

// ADS1256 commands and registers (datasheet tables 24 and 23).
const uint8_t ADS_WAKEUP = 0x00, ADS_RDATA = 0x01, ADS_SDATAC = 0x0F, ADS_WREG = 0x50;
const uint8_t ADS_SELFCAL = 0xF0, ADS_SYNC = 0xFC, ADS_RESET = 0xFE;
const uint8_t REG_STATUS = 0x00, REG_MUX = 0x01, REG_ADCON = 0x02, REG_DRATE = 0x03;
const uint8_t STATUS_ACAL = 0x04;      // recalibrate whenever gain or rate change
const uint8_t ADCON_PGA_64 = 0x06;     // +-78 mV: a 2 mV/V cell at 5 V gives +-10 mV
const uint8_t DRATE_30000SPS = 0xF0;
// SCLK at most fCLKIN / 4 = 1.92 MHz with the module's 7.68 MHz crystal.
const SPISettings ADS_SPI(1920000, MSBFIRST, SPI_MODE1);
// Waits the datasheet asks for, in 7.68 MHz clock periods: t6 (command to data) is 50,
// t11 (after SYNC and after register writes) is 24; rounded up to whole microseconds.
const uint8_t T6_US = 7, T11_US = 4;

const uint8_t DATA_BODY = FP_HEADER_SIZE + N_CHANNELS * 4;
const uint8_t TEXT_BODY_MAX = 160;  // INFO and STATUS text, ACK command lines

uint8_t packet[FP_HEADER_SIZE + TEXT_BODY_MAX + FP_CRC_SIZE];
uint8_t wire[FP_WIRE_SIZE(sizeof packet)];
fp_line_reader commands;

uint32_t rate_hz = MAX_RATE_HZ;
uint32_t period_us = 1000000UL / MAX_RATE_HZ;
uint32_t next_tick_us;
bool streaming = false;
uint32_t start_us;  // device time origin: START restarts t_device at 0
uint16_t seq = 0;   // counts DATA packets; other packets carry it unchanged
int32_t counts[N_CHANNELS];
int32_t tare_offset[N_CHANNELS];
int32_t tare_sum[N_CHANNELS];
uint16_t tare_left = 0;
uint8_t saturated_mask = 0;  // channels at full scale in the last reported STATUS
bool adc_fault = false;      // reported once, not on every failed tick

// --- ADS1256 ------------------------------------------------------------------------

void adsSelect(uint8_t adc) {
  SPI.beginTransaction(ADS_SPI);
  digitalWrite(CS_PINS[adc], LOW);
}

void adsDeselect(uint8_t adc) {
  digitalWrite(CS_PINS[adc], HIGH);
  SPI.endTransaction();
}

void adsCommand(uint8_t adc, uint8_t command) {
  adsSelect(adc);
  SPI.transfer(command);
  adsDeselect(adc);
}

void adsWriteRegister(uint8_t adc, uint8_t reg, uint8_t value) {
  adsSelect(adc);
  SPI.transfer(ADS_WREG | reg);
  SPI.transfer(0);  // one register
  SPI.transfer(value);
  adsDeselect(adc);
  delayMicroseconds(T11_US);
}

bool adsWaitReady(uint8_t adc) {
  uint32_t since = micros();
  while (digitalRead(DRDY_PINS[adc]) == HIGH) {
    if (micros() - since > DRDY_TIMEOUT_US) {
      return false;
    }
  }
  return true;
}

// Called when DRDY is low: selects next_mux and starts its conversion (SYNC, WAKEUP,
// the datasheet's multiplexer-cycling sequence), then reads the conversion that just
// finished. Reading while the next one runs is what keeps the scan at 30 kSPS.
int32_t adsCycle(uint8_t adc, uint8_t next_mux) {
  adsSelect(adc);
  SPI.transfer(ADS_WREG | REG_MUX);
  SPI.transfer(0);
  SPI.transfer(next_mux);
  delayMicroseconds(T11_US);
  SPI.transfer(ADS_SYNC);
  delayMicroseconds(T11_US);
  SPI.transfer(ADS_WAKEUP);
  SPI.transfer(ADS_RDATA);
  delayMicroseconds(T6_US);
  uint32_t raw = (uint32_t)SPI.transfer(0) << 16;
  raw |= (uint32_t)SPI.transfer(0) << 8;
  raw |= SPI.transfer(0);
  adsDeselect(adc);
  // 24-bit two's complement to int32
  return (int32_t)(raw << 8) >> 8;
}

void adsRestart(uint8_t adc) {
  adsSelect(adc);
  SPI.transfer(ADS_SYNC);
  delayMicroseconds(T11_US);
  SPI.transfer(ADS_WAKEUP);
  adsDeselect(adc);
}

bool adsBegin(uint8_t adc) {
  pinMode(CS_PINS[adc], OUTPUT);
  digitalWrite(CS_PINS[adc], HIGH);
  pinMode(DRDY_PINS[adc], INPUT);
  adsCommand(adc, ADS_RESET);
  delay(5);
  if (!adsWaitReady(adc)) {
    return false;
  }
  adsCommand(adc, ADS_SDATAC);  // registers are unreadable in continuous-read mode
  adsWriteRegister(adc, REG_STATUS, STATUS_ACAL);
  adsWriteRegister(adc, REG_ADCON, ADCON_PGA_64);
  adsWriteRegister(adc, REG_DRATE, DRATE_30000SPS);
  adsWriteRegister(adc, REG_MUX, CELL_MUX[0]);
  adsCommand(adc, ADS_SELFCAL);
  delay(10);
  return adsWaitReady(adc);
}

// One sample of all eight cells; false if an ADC stopped answering.
bool scan() {
  for (uint8_t adc = 0; adc < N_ADCS; adc++) {
    adsRestart(adc);
  }
  for (uint8_t cell = 0; cell < CELLS_PER_ADC; cell++) {
    for (uint8_t adc = 0; adc < N_ADCS; adc++) {
      if (!adsWaitReady(adc)) {
        return false;
      }
      // The last step leaves cell 0 selected for the next tick's restart.
      counts[adc * CELLS_PER_ADC + cell] = adsCycle(adc, CELL_MUX[(cell + 1) % CELLS_PER_ADC]);
    }
  }
  return true;
}

// --- packets --------------------------------------------------------------------------

uint32_t deviceTime(uint32_t now_us) { return streaming ? now_us - start_us : 0; }

void sendPacket(size_t body_size) {
  size_t n = fp_frame(packet, body_size, wire);
  // Never block on a host that is not reading: a dropped packet is a gap it can see.
  if (Serial.availableForWrite() >= (int)n) {
    Serial.write(wire, n);
  }
}

void sendText(uint8_t type, const char *text) {
  size_t n = strlen(text);
  if (n > TEXT_BODY_MAX) {
    n = TEXT_BODY_MAX;
  }
  fp_put_header(packet, type, seq, deviceTime(micros()));
  memcpy(packet + FP_HEADER_SIZE, text, n);
  sendPacket(FP_HEADER_SIZE + n);
}

void sendInfo() {
  char text[TEXT_BODY_MAX + 1];
  snprintf(text, sizeof text,
           "model=plate4-ads1256\nserial=%s\nfirmware=%s\nchannels=%u\nrate_hz=%lu\nprofile=dual-plate-ads1256\n",
           DEVICE_SERIAL, FIRMWARE_VERSION, (unsigned)N_CHANNELS, (unsigned long)rate_hz);
  sendText(FP_INFO, text);
}

void sendSaturation(uint8_t mask) {
  char text[TEXT_BODY_MAX + 1] = "saturated=";
  for (uint8_t ch = 0; ch < N_CHANNELS; ch++) {
    if (mask & (1 << ch)) {
      size_t end = strlen(text);
      snprintf(text + end, sizeof text - end, "%s%u", text[end - 1] == '=' ? "" : ",", (unsigned)ch);
    }
  }
  strcat(text, "\n");
  sendText(FP_STATUS, text);
}

void sendData(uint32_t t_us) {
  fp_put_header(packet, FP_DATA, seq, deviceTime(t_us));
  for (uint8_t ch = 0; ch < N_CHANNELS; ch++) {
    fp_put_i32le(packet + FP_HEADER_SIZE + 4 * ch, counts[ch] - tare_offset[ch]);
  }
  sendPacket(DATA_BODY);
}

// --- commands ---------------------------------------------------------------------------

void handleCommand(const char *line) {
  if (strcmp(line, "INFO?") == 0) {
    sendInfo();
    return;
  }
  if (strcmp(line, "START") == 0) {
    next_tick_us = micros();
    start_us = next_tick_us;
    streaming = true;
    // Report a still-dead ADC or a cell already at full scale again in this run.
    adc_fault = false;
    saturated_mask = 0;
  } else if (strcmp(line, "STOP") == 0) {
    streaming = false;
  } else if (strcmp(line, "TARE") == 0) {
    memset(tare_sum, 0, sizeof tare_sum);
    tare_left = TARE_SAMPLES;
  } else if (strncmp(line, "RATE ", 5) == 0) {
    long hz = atol(line + 5);
    if (hz < 1 || hz > (long)MAX_RATE_HZ) {
      sendText(FP_STATUS, "error=RATE must be 1..1000\n");
      sendInfo();
      return;
    }
    rate_hz = (uint32_t)hz;
    period_us = 1000000UL / rate_hz;
    sendText(FP_ACK, line);
    sendInfo();
    return;
  } else {
    return;  // not a v1 command: acting on nothing, the device acknowledges nothing
  }
  sendText(FP_ACK, line);
}

void accumulateTare() {
  for (uint8_t ch = 0; ch < N_CHANNELS; ch++) {
    tare_sum[ch] += counts[ch];
  }
  if (--tare_left == 0) {
    for (uint8_t ch = 0; ch < N_CHANNELS; ch++) {
      tare_offset[ch] = tare_sum[ch] / TARE_SAMPLES;
    }
  }
}

uint8_t saturatedChannels() {
  uint8_t mask = 0;
  for (uint8_t ch = 0; ch < N_CHANNELS; ch++) {
    if (counts[ch] >= 0x7FFFFF || counts[ch] <= -0x800000) {
      mask |= 1 << ch;
    }
  }
  return mask;
}

// --- Arduino entry points -----------------------------------------------------------

void setup() {
  Serial.begin(921600);  // native USB ignores the baud rate
  SPI.begin();
  for (uint8_t adc = 0; adc < N_ADCS; adc++) {
    adc_fault |= !adsBegin(adc);
  }
  next_tick_us = micros();
}

void loop() {
  while (Serial.available() > 0) {
    const char *line = fp_line_push(&commands, (char)Serial.read());
    if (line != NULL) {
      handleCommand(line);
    }
  }
  uint32_t now = micros();
  if ((int32_t)(now - next_tick_us) < 0) {
    return;
  }
  // Ticks missed while busy are skipped, each still taking its sequence number, so
  // the host records them as lost frames and trial time stays true.
  uint32_t late_ticks = (now - next_tick_us) / period_us;
  next_tick_us += (late_ticks + 1) * period_us;
  if (streaming) {
    seq += late_ticks;
  }
  uint32_t t_us = micros();
  if (!scan()) {
    if (streaming && !adc_fault) {
      sendText(FP_STATUS, "error=ADC not ready (check wiring and power)\n");
    }
    adc_fault = true;
    if (streaming) {
      seq++;  // the lost sample is a gap on the host, like a skipped tick
    }
    return;
  }
  if (tare_left > 0) {
    accumulateTare();
  }
  uint8_t mask = saturatedChannels();
  if (streaming) {
    if (mask != saturated_mask) {
      sendSaturation(mask);
    }
    sendData(t_us);
    seq++;
  }
  saturated_mask = mask;
}
