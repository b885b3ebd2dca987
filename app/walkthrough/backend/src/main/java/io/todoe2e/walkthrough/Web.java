package io.todoe2e.walkthrough;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.servlet.config.annotation.CorsRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/** HTTP concerns: which replica answered (X-Served-By) and CORS for browser code served from another origin. */
@Configuration
class Web {

    static final String SERVED_BY = "X-Served-By";

    static String hostname() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown";
        }
    }

    /** Every response names the pod (its hostname), so a client can tell the two replicas apart. */
    @Bean
    OncePerRequestFilter servedBy() {
        String name = hostname();
        return new OncePerRequestFilter() {
            @Override
            protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response,
                    FilterChain chain) throws ServletException, IOException {
                response.setHeader(SERVED_BY, name);
                chain.doFilter(request, response);
            }
        };
    }

    /** The front end's page calls http://SERVER_URI/graphql from its own origin: allow it (CORS_ORIGINS). */
    @Bean
    WebMvcConfigurer cors(@Value("${app.cors-origins:*}") String[] origins) {
        return new WebMvcConfigurer() {
            @Override
            public void addCorsMappings(CorsRegistry registry) {
                registry.addMapping("/graphql").allowedOriginPatterns(origins).allowedMethods("GET", "POST")
                        .allowedHeaders("*").exposedHeaders(SERVED_BY).maxAge(600);
            }
        };
    }
}
