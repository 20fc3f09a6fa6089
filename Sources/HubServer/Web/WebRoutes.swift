import Foundation
import HubHTTP
import HubWire

/// The pages the hub serves itself, with no build step and nothing from another origin:
///
/// - `GET /`: the live dashboard (every space's day, hour by hour, over the WebSocket);
/// - `GET /kiosk/:spaceId`: the full-screen panel beside a room;
/// - `GET /client/spacehub.js` (classic script / CommonJS) and `/client/spacehub.mjs` (ES module):
///   the JavaScript client both pages use and third parties can embed (docs/CLIENT.md), and
///   `/client/spacehub.d.ts`, its TypeScript declarations;
/// - `GET /openapi.json`: the OpenAPI 3.1 document of every route (docs/API.md);
/// - `GET /assets/:name`: their scripts and stylesheets; `GET /favicon.svg`;
/// - the two JSON endpoints the pages need beyond the existing API (`WebEndpoints`).
///
/// Assets are real files (`Web/Files/`: JavaScript, CSS, HTML, SVG, the OpenAPI document and the
/// TypeScript declarations) compiled into `EmbeddedFiles` by scripts/embed-files.py, so the binary
/// is the whole deployment.
final class WebRoutes {
    private let realtime: Realtime
    private let endpoints: WebEndpoints
    private var assets: [String: WebAsset] = [:]
    private let dashboard: WebAsset
    private let kiosk: WebAsset

    init(realtime: Realtime, storage: Storage) {
        self.realtime = realtime
        self.endpoints = WebEndpoints(realtime: realtime, storage: storage)
        let files = [
            WebAsset(path: "/client/spacehub.js", contentType: "text/javascript; charset=utf-8",
                     text: EmbeddedFiles.clientCoreJS + EmbeddedFiles.clientClassicExportJS),
            WebAsset(path: "/client/spacehub.mjs", contentType: "text/javascript; charset=utf-8",
                     text: EmbeddedFiles.clientCoreJS + EmbeddedFiles.clientModuleExportJS),
            WebAsset(path: "/assets/app.css", contentType: "text/css; charset=utf-8", text: EmbeddedFiles.appCSS),
            WebAsset(path: "/assets/dashboard.js", contentType: "text/javascript; charset=utf-8", text: EmbeddedFiles.dashboardJS),
            WebAsset(path: "/assets/kiosk.css", contentType: "text/css; charset=utf-8", text: EmbeddedFiles.kioskCSS),
            WebAsset(path: "/assets/kiosk.js", contentType: "text/javascript; charset=utf-8", text: EmbeddedFiles.kioskJS),
            WebAsset(path: "/assets/checkout.css", contentType: "text/css; charset=utf-8", text: EmbeddedFiles.checkoutCSS),
            WebAsset(path: "/favicon.svg", contentType: "image/svg+xml", text: EmbeddedFiles.faviconSVG),
            WebAsset(path: "/client/spacehub.d.ts", contentType: "application/typescript; charset=utf-8",
                     text: EmbeddedFiles.spacehubDTS),
            WebAsset(path: "/openapi.json", contentType: "application/json", text: EmbeddedFiles.openapiJSON),
        ]
        for file in files { assets[file.path] = file }
        // Pages link each asset with its version, so browsers may cache those for good.
        func page(_ path: String, _ template: String) -> WebAsset {
            var html = template
            for file in files { html = html.replacingOccurrences(of: "{{\(file.path)}}", with: "\(file.path)?v=\(file.version)") }
            precondition(!html.contains("{{"), "unresolved asset link in \(path)")
            return WebAsset(path: path, contentType: "text/html; charset=utf-8", text: html)
        }
        dashboard = page("/", EmbeddedFiles.dashboardHTML)
        kiosk = page("/kiosk", EmbeddedFiles.kioskHTML)
    }

    func register(_ router: Router) {
        router.get("/") { [realtime, dashboard] request, responder throws(APIError) in
            // `NEXT_PUBLIC_WS_URL=wss://ws.example.com` (the seed's deployment) opens the socket on
            // `/`: an upgrade there is the hub's WebSocket; a plain GET is the dashboard.
            if WebSocketUpgrade.isRequested(request) {
                try realtime.upgrade(request, responder)
            } else {
                responder.send(dashboard.response(for: request))
            }
        }
        router.get("/kiosk/:spaceId") { [self] request, responder in
            guard realtime.catalog[request.parameter("spaceId")] != nil else {
                var response = HTML.page(title: "No such room", body: "<h2>No such room</h2><p>There is no space with this id. Kiosk links look like "
                                         + "<code>/kiosk/conference-room-a</code>.</p><p><a href=\"/\">Open the dashboard</a></p>",
                                         status: 404)
                response.headers.set("cache-control", "no-store")
                responder.send(response)
                return
            }
            responder.send(kiosk.response(for: request))
        }
        for path in assets.keys.sorted() where !path.hasPrefix("/assets/") {
            router.get(path) { [self] request, responder in responder.send(assets[path]!.response(for: request)) }  // key from the loop
        }
        router.get("/assets/:name") { [self] request, responder throws(APIError) in
            guard let asset = assets["/assets/" + request.parameter("name")] else { throw APIError.notFound("asset") }
            responder.send(asset.response(for: request))
        }
        endpoints.register(router)
    }
}

@available(*, unavailable) extension WebRoutes: Sendable {}
