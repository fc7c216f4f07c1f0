import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct LogTimestampTests {
    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"), (1_700_000_000.5, "2023-11-14T22:13:20.500Z"),
        (951_782_400, "2000-02-29T00:00:00.000Z"), (4_107_542_399.999, "2100-02-28T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.000Z"), (-0.5, "1969-12-31T23:59:59.500Z"),
        (1_796_372_400.1234, "2026-12-04T08:20:00.123Z"),
    ])
    func formatsKnownInstants(seconds: Double, text: String) {
        #expect(LogTimestamp.format(Date(timeIntervalSince1970: seconds)) == text)
    }

    @Test func agreesWithFoundationOverFourCenturies() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            // 0.4 ms past a whole millisecond: both sides cut the fraction, and no rounding of the
            // Double's last bits can carry either into the next millisecond.
            let milliseconds = Int64.random(in: 0...(12_622_780_800_000), using: &generator)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000 + 0.0004)
            #expect(LogTimestamp.format(date) == style.format(date))
        }
    }
}
