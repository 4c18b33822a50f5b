// Drives the official Amazon S3 Encryption Client for Java against a local S3 + KMS endpoint, one command per stdin line.
package dev.cdkcmek.interop;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.encryption.s3.CommitmentPolicy;
import software.amazon.encryption.s3.S3EncryptionClient;
import software.amazon.encryption.s3.algorithms.AlgorithmSuite;
import software.amazon.encryption.s3.internal.InstructionFileConfig;
import software.amazon.encryption.s3.materials.KmsKeyring;

/**
 * Usage: {@code java -jar s3ec-interop.jar <endpoint-url> <region>}, then one tab-separated command per stdin line:
 * <pre>
 *   put  bucket key kmsKeyArn V3|V2 inFile object|instruction [k=v ...]
 *   get  bucket key kmsKeyArn require|allow outFile [k=v ...]
 * </pre>
 * Each command answers one stdout line: {@code ok}, or {@code error <exception class>: <message>} (the innermost
 * cause that says why). {@code require} reads with REQUIRE_ENCRYPT_REQUIRE_DECRYPT (committing objects only),
 * {@code allow} with FORBID_ENCRYPT_ALLOW_DECRYPT. A refused get leaves no output file.
 */
public final class S3ecInterop {
    private final URI endpoint;
    private final Region region;
    private final StaticCredentialsProvider credentials =
            StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing"));
    private final ClientOverrideConfiguration overrides;
    private final S3Client s3;
    private final S3AsyncClient s3Async;
    private final KmsClient kms;

    /** moto answers `Expect: 100-continue` with a bare 100, which the SDK takes as the response to PutObject. */
    static final class DropExpectContinue implements ExecutionInterceptor {
        @Override
        public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest context, ExecutionAttributes attributes) {
            return context.httpRequest().toBuilder().removeHeader("Expect").build();
        }
    }

    private S3ecInterop(String endpointUrl, String regionName) {
        endpoint = URI.create(endpointUrl);
        region = Region.of(regionName);
        overrides = ClientOverrideConfiguration.builder().addExecutionInterceptor(new DropExpectContinue()).build();
        s3 = S3Client.builder().endpointOverride(endpoint).region(region).credentialsProvider(credentials)
                .forcePathStyle(true).overrideConfiguration(overrides).build();
        s3Async = S3AsyncClient.builder().endpointOverride(endpoint).region(region).credentialsProvider(credentials)
                .forcePathStyle(true).overrideConfiguration(overrides).build();
        // The builder's kmsKeyId() would make its own KMS client without this endpoint.
        kms = KmsClient.builder().endpointOverride(endpoint).region(region).credentialsProvider(credentials)
                .overrideConfiguration(overrides).build();
    }

    private S3EncryptionClient client(String kmsKeyArn, CommitmentPolicy policy, AlgorithmSuite suite, boolean instructionFile) {
        return S3EncryptionClient.builderV4()
                .wrappedClient(s3)
                .wrappedAsyncClient(s3Async)
                .keyring(KmsKeyring.builder().kmsClient(kms).wrappingKeyId(kmsKeyArn).build())
                .commitmentPolicy(policy)
                .encryptionAlgorithm(suite)
                .instructionFileConfig(InstructionFileConfig.builder()
                        .instructionFileClient(s3)
                        .enableInstructionFilePutObject(instructionFile)
                        .build())
                .build();
    }

    private static Map<String, String> context(String[] fields, int from) {
        Map<String, String> ctx = new HashMap<>();
        for (String pair : Arrays.copyOfRange(fields, from, fields.length)) {
            int i = pair.indexOf('=');
            ctx.put(pair.substring(0, i), pair.substring(i + 1));
        }
        return ctx;
    }

    private void put(String[] f) throws Exception {
        boolean v3 = f[4].equals("V3");
        // V2 writes need a policy that allows the non-committing suite.
        S3EncryptionClient c = client(f[3],
                v3 ? CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT : CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
                v3 ? AlgorithmSuite.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY : AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
                f[6].equals("instruction"));
        c.putObject(PutObjectRequest.builder().bucket(f[1]).key(f[2])
                        .overrideConfiguration(S3EncryptionClient.withAdditionalConfiguration(context(f, 7))).build(),
                RequestBody.fromFile(Paths.get(f[5])));
    }

    private void get(String[] f) throws Exception {
        boolean require = f[4].equals("require");
        S3EncryptionClient c = client(f[3],
                require ? CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT : CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
                require ? AlgorithmSuite.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY : AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
                false);
        Path out = Paths.get(f[5]);
        Path tmp = out.resolveSibling("." + out.getFileName() + ".part");
        try (InputStream in = c.getObject(GetObjectRequest.builder().bucket(f[1]).key(f[2])
                .overrideConfiguration(S3EncryptionClient.withAdditionalConfiguration(context(f, 6))).build());
             OutputStream o = Files.newOutputStream(tmp)) {
            in.transferTo(o);
        } catch (Exception e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String describe(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String outer = e.getClass().getSimpleName() + ": " + e.getMessage();
        String inner = t == e ? "" : " <- " + t.getClass().getSimpleName() + ": " + t.getMessage();
        return (outer + inner).replaceAll("\\s+", " ");
    }

    public static void main(String[] args) throws Exception {
        S3ecInterop app = new S3ecInterop(args[0], args[1]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t");
            String answer;
            try {
                if (f[0].equals("put")) app.put(f);
                else if (f[0].equals("get")) app.get(f);
                else throw new IllegalArgumentException("unknown command " + f[0]);
                answer = "ok";
            } catch (Exception e) {
                answer = "error " + describe(e);
            }
            System.out.println(answer);
            System.out.flush();
        }
        System.exit(0);
    }
}
