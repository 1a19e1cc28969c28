import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";

/* eslint-disable @typescript-eslint/no-require-imports */
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, "../../..");
const HOST = path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js");

/** Serializes a provider exactly like pulumi.dynamic.Resource does (serializeFunction(() => provider, {allowSecrets})). */
export async function serializeProvider(provider: unknown): Promise<{ text: string; containsSecrets: boolean }> {
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    return { text: sf.text, containsSecrets: sf.containsSecrets };
}

function struct(obj: Record<string, unknown>): unknown {
    return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(obj)));
}

/**
 * The dynamic-provider host that ships in @pulumi/pulumi, in its own process, driven over gRPC as the engine
 * drives it. The serialized provider travels in the `__provider` property of every request.
 */
export class DynamicProviderHost {
    private constructor(private readonly child: ChildProcess, private readonly client: InstanceType<typeof provrpc.ResourceProviderClient>, readonly output: string[]) {}

    /** `cwd`: where the engine would start it, the project directory (default the repository root). */
    static async start(opts: { cwd?: string } = {}): Promise<DynamicProviderHost> {
        // The engine address argument is required by the host but only used by real engines.
        const child = spawn(process.execPath, [HOST, "127.0.0.1:1"], { cwd: opts.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } });
        const output: string[] = [];
        child.stderr!.on("data", (d) => output.push(String(d)));
        const port = await new Promise<string>((resolve, reject) => {
            let buf = "";
            const onData = (d: Buffer) => {
                buf += String(d);
                const m = /^(\d+)\s*$/m.exec(buf);
                if (m) {
                    child.stdout!.off("data", onData);
                    child.stdout!.on("data", (x) => output.push(String(x)));
                    resolve(m[1]);
                }
            };
            child.stdout!.on("data", onData);
            child.once("exit", (code) => reject(new Error(`dynamic-provider host exited with ${code}: ${output.join("")}`)));
            setTimeout(() => reject(new Error("dynamic-provider host did not print its port within 60 s")), 60000).unref();
        });
        const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        const host = new DynamicProviderHost(child, client, output);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        await host.call("getPluginInfo", new (require("google-protobuf/google/protobuf/empty_pb").Empty)());
        const cfg = new provproto.ConfigureRequest();
        cfg.setArgs(struct({}));
        await host.call("configure", cfg);
        return host;
    }

    private call<T>(method: string, req: unknown): Promise<T> {
        return new Promise((resolve, reject) => {
            this.client[method](req, (err: grpc.ServiceError | null, resp: T) => (err ? reject(new Error(err.details || err.message)) : resolve(resp)));
        });
    }

    async check(urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ inputs: Record<string, unknown>; failures: { property: string; reason: string }[] }> {
        const req = new provproto.CheckRequest();
        req.setUrn(urn);
        req.setOlds(struct(olds));
        req.setNews(struct(news));
        const resp = await this.call<{ getInputs(): { toJavaScript(): Record<string, unknown> }; getFailuresList(): { getProperty(): string; getReason(): string }[] }>("check", req);
        return { inputs: resp.getInputs().toJavaScript(), failures: resp.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })) };
    }

    async diff(urn: string, id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ changes: number; replaces: string[]; deleteBeforeReplace: boolean }> {
        const req = new provproto.DiffRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setOlds(struct(olds));
        req.setNews(struct(news));
        const resp = await this.call<{ getChanges(): number; getReplacesList(): string[]; getDeletebeforereplace(): boolean }>("diff", req);
        return { changes: resp.getChanges(), replaces: resp.getReplacesList(), deleteBeforeReplace: resp.getDeletebeforereplace() };
    }

    async create(urn: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown> }> {
        const req = new provproto.CreateRequest();
        req.setUrn(urn);
        req.setProperties(struct(props));
        const resp = await this.call<{ getId(): string; getProperties(): { toJavaScript(): Record<string, unknown> } }>("create", req);
        return { id: resp.getId(), props: resp.getProperties().toJavaScript() };
    }

    async read(urn: string, id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown> | undefined }> {
        const req = new provproto.ReadRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setProperties(struct(props));
        const resp = await this.call<{ getId(): string; getProperties(): { toJavaScript(): Record<string, unknown> } | undefined }>("read", req);
        return { id: resp.getId(), props: resp.getProperties()?.toJavaScript() };
    }

    async update(urn: string, id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<Record<string, unknown>> {
        const req = new provproto.UpdateRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setOlds(struct(olds));
        req.setNews(struct(news));
        const resp = await this.call<{ getProperties(): { toJavaScript(): Record<string, unknown> } }>("update", req);
        return resp.getProperties().toJavaScript();
    }

    async delete(urn: string, id: string, props: Record<string, unknown>): Promise<void> {
        const req = new provproto.DeleteRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setProperties(struct(props));
        await this.call("delete", req);
    }

    async stop(): Promise<void> {
        this.client.close();
        if (this.child.exitCode !== null) return;
        const exited = new Promise((r) => this.child.once("exit", r));
        this.child.kill("SIGTERM");
        await exited;
    }
}


