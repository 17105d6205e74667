// Backend: the environment is parsed in one place, a value is stored as it can run here, the C
// side follows every change, and Backend.with restores what was there before (also on a throw).
import CKernels
import XCTest
@testable import Tensor

final class BackendTests: XCTestCase {
    func testEnvironmentIsParsedInOnePlace() {
        let off = Backend.fromEnvironment(["ADV_AVX512": "0", "ADV_BF16": "0", "ADV_DW7": "0", "ADV_SMALLMAP": "0",
                                           "ADV_THREADS": "3"])
        XCTAssertEqual(off, Backend(avx512: false, bf16: false, dw7: false, smallMap: false, threads: 3))
        // Anything but "0" leaves a switch on; a thread count must be a number >= 1.
        let on = Backend.fromEnvironment(["ADV_AVX512": "1", "ADV_THREADS": "0"])
        XCTAssertTrue(on.avx512 && on.bf16 && on.dw7 && on.smallMap)
        XCTAssertEqual(on.threads, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertEqual(Backend.fromEnvironment(["ADV_THREADS": "two"]).threads, ProcessInfo.processInfo.activeProcessorCount)
    }

    func testStoredAsItCanRun() {
        let b = Backend(avx512: true, bf16: true, threads: 0).honoured
        XCTAssertEqual(b.avx512, Backend.cpu.avx512)
        XCTAssertEqual(b.bf16, Backend.cpu.avx512 && Backend.cpu.bf16)
        XCTAssertEqual(b.threads, 1)
        // bf16 runs on the AVX-512 units: off with them.
        XCTAssertFalse(Backend(avx512: false, bf16: true).honoured.bf16)
    }

    func testWithRestoresThePreviousValueAndTellsC() throws {
        let before = Backend.current
        Backend.with({ $0.avx512 = false; $0.dw7 = false; $0.threads = 1 }) {
            XCTAssertFalse(Backend.current.avx512)
            XCTAssertFalse(Backend.current.bf16, "bf16 needs avx512")
            XCTAssertEqual(adv_has_avx512(), 0, "the C side follows")
            XCTAssertEqual(adv_has_bf16(), 0)
            XCTAssertEqual(Parallel.threads, 1)
            // Nested scopes restore their own previous value.
            Backend.with({ $0.smallMap = false }) { XCTAssertFalse(Backend.current.smallMap || Backend.current.dw7) }
            XCTAssertEqual(Backend.current.smallMap, before.smallMap)
        }
        XCTAssertEqual(Backend.current, before)
        XCTAssertEqual(adv_has_avx512() != 0, before.avx512)
        XCTAssertEqual(adv_has_bf16() != 0, before.bf16)
        // Also when the body throws.
        struct Boom: Error {}
        XCTAssertThrowsError(try Backend.with({ $0.threads = 1 }) { throw Boom() })
        XCTAssertEqual(Backend.current, before)
    }
}
