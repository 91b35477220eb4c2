// Who the console takes a caller to be, and the flags that put it behind the gateway's login.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type express from 'express';
import { callerOf } from '../../console/access.js';
import { parseConsoleConfig } from '../../console/config.js';

const request = (headers: Record<string, string>): express.Request => ({ get: (name: string) => headers[name.toLowerCase()] }) as unknown as express.Request;
const OPTIONS = { gatewayPath: '/console/', operatorScope: 'meshgate:operator', viewerScope: 'meshgate:viewer' };

describe('the console: callers and roles', () => {
  it('takes the role from the scopes ext-authz established, and a direct caller as the machine operator', () => {
    assert.deepEqual(callerOf(request({ 'x-auth-subject': 'alice', 'x-auth-scopes': 'meshgate:operator' }), OPTIONS), { subject: 'alice', role: 'operator', via: 'gateway' });
    assert.deepEqual(callerOf(request({ 'x-auth-subject': 'bob', 'x-auth-scopes': 'openid meshgate:viewer' }), OPTIONS), { subject: 'bob', role: 'viewer', via: 'gateway' });
    assert.deepEqual(callerOf(request({ 'x-auth-subject': 'carol' }), OPTIONS), { subject: 'carol', role: undefined, via: 'gateway' });
    assert.deepEqual(callerOf(request({}), OPTIONS), { subject: 'local operator', role: 'operator', via: 'direct' });
    // Not behind the gateway: identity headers mean nothing.
    assert.equal(callerOf(request({ 'x-auth-subject': 'mallory', 'x-auth-scopes': 'meshgate:viewer' }), { ...OPTIONS, gatewayPath: undefined }).via, 'direct');
  });

  it('refuses to take identity headers on an address others reach, unless told only the gateway reaches it', () => {
    assert.throws(() => parseConsoleConfig(['--gateway-path=/console/', '--listen=0.0.0.0:9300'], {}), /would take the identity headers of anyone who reaches that address/);
    assert.equal(parseConsoleConfig(['--gateway-path=/console/', '--listen=10.0.0.5:9300', '--trust-identity-headers'], {}).gateway?.path, '/console/');
    assert.deepEqual(parseConsoleConfig(['--gateway-path=/console/', '--login=operators', '--auth-policy=console'], {}).gateway, { path: '/console/', login: 'operators', authPolicy: 'console' });
    assert.throws(() => parseConsoleConfig(['--login=operators'], {}), /--login and --auth-policy need --gateway-path/);
    assert.throws(() => parseConsoleConfig(['--gateway-path=console'], {}), /must be a path that starts and ends with "\/"/);
  });
});
