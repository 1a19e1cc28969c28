import { startTestEnv } from "../test/env/env";
import { startLocalSandbox } from "../test/env/local-sandbox";
const t = () => Date.now();
(async () => {
    const env = await startTestEnv();
    const times: Record<string, number> = {};
    const sb = await startLocalSandbox(env, { onOutput: (l) => process.stdout.write("  | " + l + "\n") });
    try {
        let t0 = t();
        const up = await sb.stack.up();
        times.up = (t() - t0) / 1000;
        console.log("UP", JSON.stringify(up.summary.resourceChanges), Object.keys(up.outputs));
        t0 = t();
        const pv = await sb.stack.preview({ expectNoChanges: true } as any).catch((e) => { console.log("PREVIEW FAILED", String(e).slice(0, 3000)); return undefined; });
        times.preview = (t() - t0) / 1000;
        console.log("PREVIEW", JSON.stringify(pv?.changeSummary));
        t0 = t();
        const rf = await sb.stack.refresh();
        times.refresh = (t() - t0) / 1000;
        console.log("REFRESH", JSON.stringify(rf.summary.resourceChanges));
        t0 = t();
        const pv2 = await sb.stack.preview({ refresh: true, expectNoChanges: true } as any).catch((e) => { console.log("PREVIEW --refresh FAILED", String(e).slice(0, 3000)); return undefined; });
        times.previewRefresh = (t() - t0) / 1000;
        console.log("PREVIEW2", JSON.stringify(pv2?.changeSummary));
        if (process.env.KEEP !== "1") {
            t0 = t();
            const d = await sb.stack.destroy();
            times.destroy = (t() - t0) / 1000;
            console.log("DESTROY", JSON.stringify(d.summary.resourceChanges));
        }
    } catch (e) {
        console.log("FAILED", String(e).slice(0, 6000));
    } finally {
        console.log("TIMES", JSON.stringify(times));
        await sb.stop();
        await env.stop();
    }
})();
