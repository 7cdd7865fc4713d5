import type { ControllerModeConfig } from '../config/controllerModeConfig.js';
import { describeError } from '../logging/describeError.js';
import { createLogger } from '../logging/logger.js';
import { KmsNodeRuntime } from './kmsNodeRuntime.js';
import { startProbeServer } from './probeServer.js';
import { EXIT_FAILURE, stopOnSignal } from './signals.js';

/**
 * The composition root of the in-pod mode: the node runtime, the controller that
 * configures it from its KmsNode resource, and the process's probe endpoints. Neither
 * the node nor the controller knows the other's modules; they meet here, through the
 * NodeRuntime seam.
 *
 * On SIGTERM: the controller stops reconciling, writes Ready=False (Stopping) while the
 * node still runs, then the node drains and stops, then the probes close.
 */
export async function runControllerMode(config: ControllerModeConfig): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  // Loaded lazily: the Kubernetes client is needed only in this mode.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { startKmsNodeController } = await import('../controller/index.js');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const runtime = new KmsNodeRuntime(logger);
  const controller = startKmsNodeController({
    kubeConfig,
    namespace: config.namespace,
    name: config.kmsNodeName,
    runtime,
    logger,
    resyncPeriodMs: config.resyncPeriodMs,
    processSettings: config.processSettings,
  });
  let probes;
  try {
    probes = await startProbeServer({
      refreshStatus: () => runtime.refreshStatus(),
      status: () => runtime.status(),
      hasReconciled: () => controller.hasReconciled(),
    }, config.host, config.probePort);
  } catch (error) {
    logger.fatal({ err: describeError(error), port: config.probePort }, 'cannot listen for probes');
    await controller.stop();
    return EXIT_FAILURE;
  }
  logger.info(
    { kmsnode: `${config.namespace}/${config.kmsNodeName}`, resyncPeriodMs: config.resyncPeriodMs, probePort: probes.port, volumeMountPath: config.volumeMountPath },
    'controller started; the KmsNode resource configures this node',
  );
  return stopOnSignal(async (signal) => {
    await controller.stop();
    await controller.reportStopping(`kms-server received ${signal}: the node is draining and stopping`);
    try {
      await runtime.stop();
    } finally {
      await probes.close();
    }
  }, logger);
}
