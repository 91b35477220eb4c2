// A regex RE2 accepts (so the xds-server's validation lets it through) whose compiled program is
// past what Envoy allows (the gateway bootstrap's re2.max_program_size.error_level, 20,000;
// Envoy's default, 100, for sidecars): the proxies that get it NACK their routes.
export const OVERSIZED_REGEX = `^${Array.from({ length: 21 }, () => '[a-f0-9]{1000}').join('-')}$`;
