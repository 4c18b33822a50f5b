// A resource as the template will hold it: overrides and removal policies included, tokens resolved.
import { CfnDeletionPolicy, CfnResource, Stack } from 'aws-cdk-lib';

/** The parts of a rendered resource the library's checks read. */
export interface RenderedResource {
  readonly Properties?: { readonly [name: string]: unknown };
  readonly DeletionPolicy?: CfnDeletionPolicy;
  readonly UpdateReplacePolicy?: CfnDeletionPolicy;
}

/**
 * What the template will hold for `resource`, escape hatches included (`addPropertyOverride`, `addOverride` of
 * the DeletionPolicy, removal policies set by aspects), resolved in its stack.
 */
export function renderedResource(resource: CfnResource): RenderedResource {
  // aws-cdk-lib renders a resource only through this internal method; its shape has been stable across 2.x.
  const render = (resource as unknown as { _toCloudFormation(): object })._toCloudFormation();
  const fragment = Stack.of(resource).resolve(render) as { Resources: Record<string, RenderedResource> };
  return Object.values(fragment.Resources)[0];
}
