import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";

const WRITE_NODES = new Set(["InsertQueryNode", "UpdateQueryNode", "DeleteQueryNode", "MergeQueryNode"]);

/**
 * Notices whether a unit of work changed anything, so that a transaction that changed data but
 * wrote no audit row can be refused before it commits. Mutations go through the query builder;
 * that is what lets this see them.
 */
export class WriteTracker implements KyselyPlugin {
  wrote = false;

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (WRITE_NODES.has(args.node.kind)) this.wrote = true;
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
