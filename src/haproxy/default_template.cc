// The built-in haproxy.cfg template, compiled into the binary so berth needs no file to serve.
// docs/haproxy-template.md lists every name it uses and shows what it renders.
#include "haproxy/config_renderer.h"

namespace berth::haproxy {
namespace {

// Mustache comments ({{! }}) say why a line is there; they do not reach haproxy.cfg, which stays
// a pure function of the Config. A line holding only a section tag or a comment leaves nothing in
// the output (the Mustache "standalone line" rule, which the renderer applies).
constexpr std::string_view kDefaultTemplate = R"tmpl({{! berth's built-in template: HAProxy 2.6 in master-worker mode (berth starts `haproxy -W -S ...`). }}
# haproxy.cfg written by berth from its model; edits are lost at the next render.
{{#global}}
global
{{! Without noreuseport, another process with SO_REUSEPORT can bind a tenant's port and take a share of its connections (FACTS.md). Reloads still lose nothing with it. }}
    noreuseport
{{! Without maxconn HAProxy derives it from its open-files limit, so it starts wherever that limit is. }}
{{#has_maxconn}}
    maxconn {{maxconn}}
{{/has_maxconn}}
{{#has_nbthread}}
    nbthread {{nbthread}}
{{/has_nbthread}}
{{#has_admin_socket}}
    stats socket {{admin_socket}} mode 600 level admin
{{/has_admin_socket}}
{{#has_server_state_file}}
    server-state-file {{server_state_file}}
{{/has_server_state_file}}
{{#logging}}
    log {{log_address}}{{#log_raw}} format raw{{/log_raw}} local0
{{/logging}}
{{#has_mworker_max_reloads}}
    mworker-max-reloads {{mworker_max_reloads}}
{{/has_mworker_max_reloads}}
{{! No hard-stop-after: an old worker keeps serving its hours-long database sessions until they end; cutting them is what berth exists to avoid. }}
{{! No option splice-auto: database traffic is mostly small request/response exchanges where splicing saves nothing, every spliced session holds a pipe (two more fds, outside the 2 x maxconn budget in FACTS.md), and bench/proxy_bench measured none (one 512 MB stream on loopback: 962 MB/s with splice-auto, 955 without). }}
{{! No tune.* lines: the defaults (16 kB buffers) carried ~11 Gbit/s through one worker on loopback (FACTS.md); nothing measured asks for more. }}
{{#has_prometheus}}

{{! HAProxy's own Prometheus exporter (--haproxy-metrics-bind-address), in a defaults section of its own so the audit log's TCP settings do not apply to it. Its series name proxies p<host port>; berth_listener_info maps them to Services. }}
defaults
    mode http
    timeout client 10s
    timeout http-request 10s

frontend berth_metrics
    bind {{prometheus_address}}
    http-request use-service prometheus-exporter if { path /metrics }
    http-request deny
{{/has_prometheus}}

defaults
    mode tcp
{{#logging}}
    log global
{{! The connection audit log (docs/operations.md): one line per TCP session when it ends, as key=value fields. Every value is HAProxy's own (addresses, counts, times) or the validated Service name a frontend sets, so a client cannot forge a field. }}
    log-format "client=%ci:%cp host_port=%fp service=%[var(sess.berth_service)] backend=%b/%s server=%si:%sp bytes_in=%U bytes_out=%B duration_ms=%Tt connect_ms=%Tc termination=%ts accepted=%t"
{{/logging}}
{{! tcpka: sessions last hours; keepalive probes let the kernel drop a peer that vanished without a FIN instead of holding its slot forever. }}
    option tcpka
{{#has_server_state_file}}
    load-server-state-from-file global
{{/has_server_state_file}}
{{! fall 2: one lost check is not an outage; rise 2: a restarting pod must answer twice before it gets sessions again. }}
    default-server inter {{check_interval}} fall 2 rise 2
{{/global}}
{{#listeners}}

{{#has_service}}
# {{service}}
{{/has_service}}
frontend {{name}}
{{#binds}}
    bind {{address}}{{#v4v6}} v4v6{{/v4v6}}{{#v6only}} v6only{{/v6only}}
{{/binds}}
    timeout client {{timeout_client}}
{{#logging}}
{{#has_service}}
{{! Names the Service in the audit log line; set first, so a connection the allow-list refuses later carries it too. }}
    tcp-request connection set-var(sess.berth_service) str({{service}})
{{/has_service}}
{{/logging}}
{{#has_maxconn}}
    maxconn {{maxconn}}
{{/has_maxconn}}
{{#has_allow_sources}}
{{! Named ACL lines, not one { src ... } list: HAProxy reads at most 64 words a line, and lines of the same ACL name are ORed. }}
{{#allow_source_groups}}
    acl allowed_sources src {{.}}
{{/allow_source_groups}}
    tcp-request connection reject unless allowed_sources
{{/has_allow_sources}}
    default_backend {{name}}

backend {{name}}
    balance {{balance}}
    timeout connect {{timeout_connect}}
    timeout server {{timeout_server}}
{{#check_mysql}}
    option mysql-check{{#has_check_user}} user {{check_user}}{{/has_check_user}}
{{/check_mysql}}
{{#check_pgsql}}
    option pgsql-check user {{check_user}}
{{/check_pgsql}}
{{#check_redis}}
    option redis-check
{{/check_redis}}
{{#check_http}}
    option httpchk GET {{http_check_path}}
    http-check expect status 200
{{/check_http}}
{{! An empty slot is a disabled placeholder with the same check options, so `set server <backend>/<slot> addr A port P` + `state ready` fills it with no reload. }}
{{#servers}}
    server {{name}} {{address}}{{#disabled}} disabled{{/disabled}}{{#checked}} check{{/checked}}{{#check_http}} port {{http_check_port}}{{/check_http}}{{#send_proxy}} send-proxy{{/send_proxy}}{{#send_proxy_v2}} send-proxy-v2{{/send_proxy_v2}}
{{/servers}}
{{/listeners}}
)tmpl";

}  // namespace

std::string_view ConfigRenderer::default_template() { return kDefaultTemplate; }

}  // namespace berth::haproxy
