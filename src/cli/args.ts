// Checks of the connection flags every command shares, made before any AWS client exists.
import { UsageError, quote } from './exit';

/** `--region` and `--endpoint-url`, checked before any client is made. */
export function checkConnection(o: { region?: string; endpointUrl?: string }): void {
  if (o.region !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(o.region)) {
    throw new UsageError(`\`--region\` must be a region name such as eu-west-1, got: ${quote(o.region)}`);
  }
  if (o.endpointUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(o.endpointUrl);
    } catch {
      // reported below
    }
    if (!url || !['http:', 'https:'].includes(url.protocol)) {
      throw new UsageError(`\`--endpoint-url\` must be an http(s) URL, got: ${quote(o.endpointUrl)}`);
    }
  }
}
