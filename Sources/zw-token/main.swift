import ZeroWeightProxy

// zw-token: GET /api/livekit/token?avatar_id=…&name=…&room=…, as CGI or FastCGI.
ProxyMain.run(route: .token)
