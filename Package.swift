// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "zeroweight-proxy",
    products: [
        .executable(name: "zw-bundle", targets: ["zw-bundle"]),
        .executable(name: "zw-token", targets: ["zw-token"]),
    ],
    targets: [
        .systemLibrary(
            name: "CFastCGI",
            pkgConfig: "fcgi",
            providers: [.apt(["libfcgi-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // No pkgConfig: Debian's hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM refuses.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // How corelibs Foundation uses libcurl, fixed at link time: a leaked URL handle per request
        // and an upstream connection pool that shrinks under load (see LibcurlFixes.c).
        .target(
            name: "CLibcurlFixes",
            linkerSettings: [
                .linkedLibrary("curl"),
                .unsafeFlags(
                    ["curl_url", "curl_url_cleanup", "curl_free", "curl_multi_init"].flatMap {
                        ["-Xlinker", "--wrap=\($0)"]
                    }),
            ]
        ),
        .target(
            name: "ZeroWeightProxy",
            dependencies: ["CFastCGI", "CCrypto", "CSQLite", "CHiredis", "CLibcurlFixes"]
        ),
        .executableTarget(name: "zw-bundle", dependencies: ["ZeroWeightProxy"]),
        .executableTarget(name: "zw-token", dependencies: ["ZeroWeightProxy"]),
        .testTarget(name: "ZeroWeightProxyTests", dependencies: ["ZeroWeightProxy"]),
    ]
)
