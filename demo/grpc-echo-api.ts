// The demo gRPC echo service's name and method, for its server and its clients.
export const ECHO_SERVICE = 'meshgate.demo.Echo';
export const ECHO_METHOD = 'Say';
