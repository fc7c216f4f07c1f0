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
        // corelibs Foundation leaks a curl URL handle per request; see CurlURLCleanup.c.
        .target(
            name: "CCurlURLCleanup",
            linkerSettings: [
                .linkedLibrary("curl"),
                .unsafeFlags(["-Xlinker", "--wrap=curl_url", "-Xlinker", "--wrap=curl_free"]),
            ]
        ),
        .target(
            name: "ZeroWeightProxy",
            dependencies: ["CFastCGI", "CCrypto", "CSQLite", "CHiredis", "CCurlURLCleanup"]
        ),
        .executableTarget(name: "zw-bundle", dependencies: ["ZeroWeightProxy"]),
        .executableTarget(name: "zw-token", dependencies: ["ZeroWeightProxy"]),
        .testTarget(name: "ZeroWeightProxyTests", dependencies: ["ZeroWeightProxy"]),
    ]
)
