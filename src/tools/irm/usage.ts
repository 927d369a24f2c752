/** The usage texts of every `irm` command, worded and laid out as the reference's. */
import { ETH_DEFAULT_ETHERTYPE, UDP_DEFAULT_PORT, UNICAST_DEFAULTS } from '../../common/ipcp-types.js';

/** Longest name the IRMd accepts (bytes). */
export const NAME_SIZE = 255;
/** Longest layer / IPCP / device name (bytes). */
export const LAYER_NAME_SIZE = 255;
export const DEV_NAME_SIZE = 255;
/** Longest security file path (bytes). */
export const NAME_PATH_SIZE = NAME_SIZE + 256;
/** Most `ipcp`/`layer` arguments to `name register|unregister`. */
export const MAX_IPCPS = 128;
export const MAX_LAYERS = 128;

const TYPES = 'unicast broadcast local udp4 udp6 eth-llc eth-dix';
const HASHES = 'SHA3_224 SHA3_256 SHA3_384 SHA3_512';
const U = UNICAST_DEFAULTS;

export const usage = {
  top: 'Usage: irm [OPERATION]\n\n' + 'where OPERATION in { ipcp bind unbind name flow security }\n',

  security:
    'Usage: irm security [OPERATION]\n\n' +
    'where OPERATION in {ca cert enc kem show help}\n' +
    '(o7s: a test CA, certificates, keys and enc.conf in the security directory)\n',

  securityCa:
    'Usage: irm security ca\n' +
    '                [dir <security directory>]\n' +
    '                [type <ecdsa-p256 | ed25519 | ml-dsa-65> (default: ecdsa-p256)]\n' +
    '                [cn <CA name> (default: ca.o7s)]\n' +
    '                [days <validity> (default: 365)]\n' +
    '                [force (replace an existing CA)]\n',

  securityCert:
    'Usage: irm security cert\n' +
    '                <name>\n' +
    '                [role <server | client | both> (default: both)]\n' +
    '                [dir <security directory>]\n' +
    '                [type <ecdsa-p256 | ed25519 | ml-dsa-65> (default: the CA\'s)]\n' +
    '                [days <validity> (default: 365)]\n',

  securityEnc:
    'Usage: irm security enc\n' +
    '                <name>\n' +
    '                [role <server | client | both> (default: both)]\n' +
    '                [dir <security directory>]\n' +
    '                [kex <key exchange> (default: prime256v1)]\n' +
    '                [cipher <cipher> (default: aes-256-gcm)]\n' +
    '                [kdf <digest> (default: sha256)]\n' +
    '                [digest <digest> (default: sha256)]\n' +
    '                [kem_mode <server | client> (default: server)]\n' +
    '                [none (encryption off)]\n',

  securityKem:
    'Usage: irm security kem\n' +
    '                <name>\n' +
    '                kex <ML-KEM-512 | ML-KEM-768 | ML-KEM-1024 | X25519MLKEM768 | X448MLKEM1024>\n' +
    '                [dir <security directory>]\n',

  securityShow:
    'Usage: irm security show\n' +
    '                <name>\n' +
    '                [dir <security directory>]\n',

  flow: 'Usage: irm flow [OPERATION]\n\nwhere OPERATION in {list help}\n(o7s: the flows of this system)\n',

  ipcp:
    'Usage: irm ipcp [OPERATION]\n\n' +
    'where OPERATION in {create destroy\n' +
    '                    bootstrap enroll\n' +
    '                    connect disconnect\n' +
    '                    list\n' +
    '                    help}\n' +
    '(o7s: also inspect)\n',

  ipcpInspect:
    'Usage: irm ipcp inspect\n' +
    '                name <ipcp name>\n' +
    '                [SECTION]...\n\n' +
    'where SECTION in {address neighbours lsdb pff dht flows counters json}\n' +
    '(o7s: what the IPCP knows; default: every section it has)\n',

  bind: 'Usage: irm bind [OPERATION]\n\nwhere OPERATION in {program process ipcp help}\n',
  unbind: 'Usage: irm unbind [OPERATION]\n\nwhere OPERATION in {program process ipcp help}\n',

  name:
    'Usage: irm name [OPERATION]\n\n' +
    'where OPERATION in {create destroy\n' +
    '                    register unregister\n' +
    '                    list\n' +
    '                    help}\n',

  ipcpCreate:
    'Usage: irm ipcp create\n' +
    '                name <ipcp name>\n' +
    '                type [TYPE]\n\n' +
    `where TYPE in {${TYPES}}\n`,

  ipcpDestroy: 'Usage: irm ipcp destroy\n                name <ipcp name>\n',

  ipcpBootstrap:
    'Usage: irm ipcp bootstrap\n' +
    '           name <ipcp name>\n' +
    '           layer <layer name>\n' +
    '           [type [TYPE]]\n' +
    `where TYPE in {${TYPES}},\n\n` +
    'if TYPE == unicast\n' +
    '        [addr_auth <ADDRESS_POLICY> (default: flat)]\n' +
    '        [directory <DIRECTORY_POLICY> (default: DHT)]\n' +
    '        [hash [ALGORITHM] (default: SHA3_256)]\n' +
    '        [routing <ROUTING_POLICY> (default: link_state)]\n' +
    '        [congestion <CONG_POLICY> (default: mb-ecn)]\n' +
    '        [autobind]\n\n' +
    'where ADDRESS_POLICY in {flat}\n' +
    '    DIRECTORY_POLICY in {DHT}\n' +
    `    ALGORITHM in {${HASHES}}\n` +
    '    ROUTING_POLICY in {link_state lfa ecmp}\n' +
    '    CONG_POLICY in {none mb-ecn}\n' +
    '    [Data Transfer Constants]\n' +
    `        [addr <address size> (default: ${U.addrSize})]\n` +
    `        [eid <eid size> (default: ${U.eidSize})]\n` +
    `        [ttl <max time-to-live>, default: ${U.maxTtl})]\n\n` +
    'if DIRECTORY_POLICY == DHT\n' +
    `        [dht_alpha <search factor> (default: ${U.dhtAlpha})]\n` +
    `        [dht_k <replication factor> (default: ${U.dhtK})]\n` +
    `        [dht_t_expire <expiration (s)> (default: ${U.dhtTExpire})]\n` +
    `        [dht_t_refresh <contact refresh (s)> (default: ${U.dhtTRefresh})]\n` +
    `        [dht_t_replicate <replication (s)> (default: ${U.dhtTReplicate})]\n\n` +
    'if ROUTING_POLICY == link_state\n' +
    `        [ls_t_recalc <pff recalc interval (s)> (default: ${U.lsTRecalc})]\n` +
    `        [ls_t_update <LSA update interval (s)> (default: ${U.lsTUpdate})]\n` +
    `        [ls_t_timeo  <link timeout (s)> (default: ${U.lsTTimeo})]\n\n` +
    'if TYPE == udp4\n' +
    '        ip <IP address in dotted notation>\n' +
    `        [port <UDP port> (default: ${UDP_DEFAULT_PORT})]\n` +
    '        [dns <DDNS IPv4 address in dotted notation> (default: none)]\n' +
    '        [<option> <value>] (o7s: handed to the IPCP, e.g. hosts, drop, dup, reorder, corrupt, delay)\n\n' +
    'if TYPE == udp6\n' +
    '        ip <IPv6 address>\n' +
    `        [port <UDP port> (default: ${UDP_DEFAULT_PORT})]\n` +
    '        [dns <DDNS IPv6 address> (default: none)]\n' +
    '        [<option> <value>] (o7s: handed to the IPCP, e.g. hosts, drop, dup, reorder, corrupt, delay)\n\n' +
    'if TYPE == eth-llc\n' +
    '        dev <interface name>\n' +
    '        [hash [ALGORITHM] (default: SHA3_256)]\n' +
    `where ALGORITHM in {${HASHES}}\n\n` +
    'if TYPE == eth-dix\n' +
    '        dev <interface name>\n' +
    `        [ethertype <ethertype> (default: 0x${ETH_DEFAULT_ETHERTYPE.toString(16).toUpperCase().padStart(4, ' ')})]\n` +
    '        [hash [ALGORITHM] (default: SHA3_256)]\n' +
    `where ALGORITHM in {${HASHES}}\n\n` +
    'if TYPE == local\n' +
    '        [hash [ALGORITHM] (default: SHA3_256)]\n' +
    `where ALGORITHM in {${HASHES}}\n\n` +
    'if TYPE == broadcast\n' +
    '        [autobind]\n\n',

  ipcpEnroll:
    'Usage: irm ipcp enroll\n' +
    '                name <ipcp name>\n' +
    '                [layer <layer to enroll with>]\n' +
    '                [dst <destination to enroll with>]\n' +
    '                [type [TYPE], default = unicast]\n' +
    '                [autobind]\n' +
    'where TYPE in {unicast broadcast}\n',

  ipcpConnect:
    'Usage: irm ipcp connect\n' +
    '                name      <ipcp name>\n' +
    '                dst       <name of destination IPCP>\n' +
    '                [component [COMPONENT]]\n' +
    'where COMPONENT in {dt mgmt}\n\n' +
    'if COMPONENT == dt\n' +
    '                [qos       [QOS]\n' +
    'where QOS in {raw, best, voice, video, data}\n',

  ipcpDisconnect:
    'Usage: irm ipcp disconnect\n' +
    '                name      <ipcp name>\n' +
    '                dst       <name of destination IPCP>\n' +
    '                [component [COMPONENT]]\n\n' +
    'where COMPONENT in {dt mgmt}\n',

  ipcpList:
    'Usage: irm ipcp list\n' +
    '                [name  <ipcp name>]\n' +
    '                [layer <layer_name>]\n\n' +
    '                [type [TYPE]]\n\n' +
    'where TYPE = {unicast local udp4 udp6 eth-llc eth-dix}\n',

  bindProgram:
    'Usage: irm bind program <program>\n' +
    '           name <name>\n' +
    '           [auto] (instantiate program if not running)\n' +
    '           [-- <application arguments>]\n',
  bindProcess: 'Usage: irm bind process <pid> name <name>\n',
  bindIpcp: 'Usage: irm bind ipcp <name> name <name>\n',

  unbindProgram: 'Usage: irm unbind program <program>\n                  [name <name> (default: unbind all names)]\n',
  unbindProcess: 'Usage: irm unbind process <pid>\n                  [name <name> (default: unbind all names)]\n',
  unbindIpcp: 'Usage: irm unbind ipcp <name>\n                  [name <name> (default: remove all IPCP info)]\n',

  nameCreate:
    'Usage: irm name create\n' +
    `                <name>. max ${NAME_SIZE} chars.\n` +
    '                [lb LB_POLICY], default: round-robin\n' +
    '                [sencpath <path>, default: <security_dir>/server/<name>/enc.conf]\n' +
    '                [scrtpath <path>, default: <security_dir>/server/<name>/crt.pem]\n' +
    '                [skeypath <path>, default: <security_dir>/server/<name>/key.pem]\n' +
    '                [cencpath <path>, default: <security_dir>/client/<name>/enc.conf]\n' +
    '                [ccrtpath <path>, default: <security_dir>/client/<name>/crt.pem]\n' +
    '                [ckeypath <path>, default: <security_dir>/client/<name>/key.pem]\n' +
    '\n' +
    'where LB_POLICY in {round-robin spillover}\n',
  nameDestroy: 'Usage: irm name destroy <name>\n',
  nameRegister:
    'Usage: irm name register <name>\n' +
    '           ipcp <ipcp to register with>\n' +
    '           [ipcp <ipcp to register with>]\n' +
    `           [... (maximum ${MAX_IPCPS} ipcps)]\n` +
    '           layer <layer to register with>\n' +
    '           [layer <layer to register with>]\n' +
    `           [... (maximum ${MAX_LAYERS} layers)]\n`,
  nameUnregister:
    'Usage: irm name unregister <name>\n' +
    '           ipcp <ipcp to register with>\n' +
    '           [ipcp <ipcp to register with>]\n' +
    `           [... (maximum ${MAX_IPCPS} ipcps)]\n` +
    '           layer <layer to unregister from>\n' +
    '           [layer <layer to unregister from>]\n' +
    `           [... (maximum ${MAX_LAYERS} layers)]\n`,
  nameList: 'Usage: irm name list\n                [list <name filter>]\n',
} as const;
