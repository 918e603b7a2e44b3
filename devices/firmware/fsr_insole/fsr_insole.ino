/*
 * fsr_insole: a 16-sensor FSR pressure insole on an ESP32, one board per foot, speaking
 * forceplate wire protocol v1 in ASCII line mode (devices/PROTOCOL.md), profile
 * insole-diy-fsr16 (20 Hz; counts fall as force rises, see the profile).
 *
 *   device -> host   t_us,c1,...,c16\n             one sample, 12-bit counts
 *                    # INFO key=value ...\n        answer to INFO? (and to RATE)
 *                    # ACK <command>\n             after START, STOP, RATE
 *   host -> device   INFO?  START  STOP  RATE <hz>   (TARE is not implemented: the
 *                    host tares in software, and an FSR has no stable zero to keep)
 *
 * Wiring (see also ../README.md)
 *   Multiplexer: one CD74HC4067 (16:1 analog) on the ESP32's 3.3 V.
 *     S0..S3 -> GPIO 14, 27, 26, 25 (PIN_S0..PIN_S3); EN -> GND (always on)
 *     SIG    -> GPIO 34 (PIN_SIG, ADC1: ADC2 is unusable while Bluetooth runs)
 *     SIG    -> 10 kOhm -> 3.3 V: the one divider resistor, shared by whichever FSR
 *               is selected, so only one resistor needs matching. An unloaded FSR
 *               reads 4095 and more force reads fewer counts, as the profile expects.
 *   Sensors: each FSR between mux input Cn and GND, n = channel index of the profile
 *     (C0 hallux ... C15 heel_lateral, devices/profiles/insole-diy-fsr16.toml).
 *   Link: USB (the board's serial bridge, 115200 baud) or, with USE_BLUETOOTH, Bluetooth
 *     serial (pair "forceplate-insole-<foot>", then open its rfcomm/COM port).
 */

#include <forceplate_protocol.h>

// One build per foot: the host pairs the two insoles by this field.
#define FOOT "left"
// Change per unit: the host finds the calibration record by this serial.
#define DEVICE_SERIAL "FSR16-L-0001"
#define FIRMWARE_VERSION "1.0.0"
// #define USE_BLUETOOTH

#ifdef USE_BLUETOOTH
#include <BluetoothSerial.h>
BluetoothSerial bluetooth;
Stream &host = bluetooth;
#else
Stream &host = Serial;
#endif

const uint8_t N_SENSORS = 16;
const uint8_t PIN_SIG = 34;
const uint8_t PIN_SELECT[4] = {14, 27, 26, 25};  // S0..S3
// The mux's on-resistance and the ADC's sample capacitor need a few microseconds
// after switching; 20 us is ample and costs 0.3 ms of each 50 ms period.
const uint8_t SETTLE_US = 20;
const uint32_t DEFAULT_RATE_HZ = 20;
const uint32_t MAX_RATE_HZ = 100;  // 16 conversions and a ~90-byte line at 115200 baud

uint32_t rate_hz = DEFAULT_RATE_HZ;
uint32_t period_us = 1000000UL / DEFAULT_RATE_HZ;
uint32_t next_tick_us;
uint32_t start_us;  // START restarts t_us at 0
bool streaming = false;
fp_line_reader commands;

void selectSensor(uint8_t sensor) {
  for (uint8_t bit = 0; bit < 4; bit++) {
    digitalWrite(PIN_SELECT[bit], (sensor >> bit) & 1);
  }
  delayMicroseconds(SETTLE_US);
}

void sendInfo() {
  host.printf("# INFO model=fsr-insole-esp32 serial=%s firmware=%s channels=%u rate_hz=%lu profile=insole-diy-fsr16 foot=%s\n",
              DEVICE_SERIAL, FIRMWARE_VERSION, (unsigned)N_SENSORS, (unsigned long)rate_hz, FOOT);
}

void sendSample() {
  // Stamped before the scan: the 16 conversions take about 0.4 ms after it.
  uint32_t t_us = micros() - start_us;
  char line[8 * (N_SENSORS + 2)];
  int n = snprintf(line, sizeof line, "%lu", (unsigned long)t_us);
  for (uint8_t sensor = 0; sensor < N_SENSORS; sensor++) {
    selectSensor(sensor);
    n += snprintf(line + n, sizeof line - n, ",%d", analogRead(PIN_SIG));
  }
  line[n++] = '\n';
  // A UART has no flow control, so this never waits for the host: ~90 bytes every
  // 50 ms is under a tenth of 115200 baud.
  host.write((const uint8_t *)line, n);
}

void handleCommand(const char *line) {
  if (strcmp(line, "INFO?") == 0) {
    sendInfo();
    return;
  }
  if (strcmp(line, "START") == 0) {
    start_us = next_tick_us = micros();
    streaming = true;
  } else if (strcmp(line, "STOP") == 0) {
    streaming = false;
  } else if (strncmp(line, "RATE ", 5) == 0) {
    long hz = atol(line + 5);
    if (hz < 1 || hz > (long)MAX_RATE_HZ) {
      sendInfo();  // the unchanged rate is the answer
      return;
    }
    rate_hz = (uint32_t)hz;
    period_us = 1000000UL / rate_hz;
    host.printf("# ACK %s\n", line);
    sendInfo();
    return;
  } else {
    return;  // not acted on, so not acknowledged
  }
  host.printf("# ACK %s\n", line);
}

void setup() {
  Serial.begin(115200);
#ifdef USE_BLUETOOTH
  bluetooth.begin("forceplate-insole-" FOOT);
#endif
  for (uint8_t bit = 0; bit < 4; bit++) {
    pinMode(PIN_SELECT[bit], OUTPUT);
  }
  analogReadResolution(12);        // 0..4095
  analogSetAttenuation(ADC_11db);  // full 0..3.3 V divider swing
  next_tick_us = micros();
}

void loop() {
  while (host.available() > 0) {
    const char *line = fp_line_push(&commands, (char)host.read());
    if (line != NULL) {
      handleCommand(line);
    }
  }
  if (!streaming || (int32_t)(micros() - next_tick_us) < 0) {
    return;
  }
  // Keep the schedule, not the last sample's time, so the rate does not drift; after a
  // stall, resume at the next tick rather than sending a burst.
  next_tick_us += period_us;
  if ((int32_t)(micros() - next_tick_us) >= 0) {
    next_tick_us = micros() + period_us;
  }
  sendSample();
}
