import ZeroWeightProxy

// zw-bundle: GET /api/avatars/bundle/{avatar_id}, as CGI or FastCGI.
ProxyMain.run(route: .bundle)
